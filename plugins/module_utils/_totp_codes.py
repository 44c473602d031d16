# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOTP codes for keyturn.aws: computed by pyotp, issued with enough validity left and at most once.

Codes always come from :mod:`pyotp` (``code_at``, ``hotp_code``).
``issue_code`` waits for the next window when too little of the current one
is left, and - with a :class:`CodeLedger` (``_totp_ledger.py``) - never hands
out the same (seed, time step) twice on this controller, because AWS rejects
a code that was already used.

Nothing here writes a seed or a code to a file, a log or an exception
message.  ``repr()`` of :class:`IssuedCode` masks the code.
"""

from __future__ import annotations

import datetime
import math
import time
import typing
from dataclasses import dataclass, field

try:
    import pyotp

    HAS_PYOTP = True
except ImportError:  # pragma: no cover - exercised only without pyotp
    pyotp = None
    HAS_PYOTP = False

from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import ALGORITHMS, TotpSpec


def _require_pyotp() -> None:
    if not HAS_PYOTP:
        raise TotpError(
            "the Python library pyotp is required for TOTP codes; install it on the "
            "Ansible controller (pip install pyotp)"
        )


def _totp(spec: TotpSpec) -> typing.Any:
    _require_pyotp()
    return pyotp.TOTP(s=spec.secret, digits=spec.digits, digest=ALGORITHMS[spec.algorithm], interval=spec.period)


def _check_time(for_time: typing.Any) -> float:
    if isinstance(for_time, bool) or not isinstance(for_time, (int, float)):
        raise TotpError("the time must be a number of seconds since the Unix epoch")
    if for_time < 0:
        raise TotpError("the time must not be before the Unix epoch")
    return for_time


def code_at(spec: TotpSpec, for_time: float) -> str:
    """The TOTP code of *spec* at Unix time *for_time* (computed by pyotp)."""
    for_time = _check_time(for_time)
    try:
        return _totp(spec).at(for_time)
    except ValueError:
        raise TotpError("pyotp could not compute a code for this time") from None


def hotp_code(spec: TotpSpec, counter: int) -> str:
    """The HOTP code of *spec* for *counter* (RFC 4226, computed by pyotp).

    For TOTP, ``code_at(spec, t) == hotp_code(spec, time_step(spec, t))``.
    """
    _require_pyotp()
    if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
        raise TotpError("the HOTP counter must be a non-negative integer")
    try:
        return pyotp.HOTP(s=spec.secret, digits=spec.digits, digest=ALGORITHMS[spec.algorithm]).at(counter)
    except ValueError:
        raise TotpError("pyotp could not compute a code for this counter") from None


def time_step(spec: TotpSpec, t: float) -> int:
    """The RFC 6238 time step (counter) at Unix time *t*."""
    return int(_check_time(t) // spec.period)


def remaining(spec: TotpSpec, t: float) -> float:
    """Seconds left in the window containing Unix time *t* (0 < result <= period)."""
    return spec.period - (_check_time(t) % spec.period)


@dataclass(frozen=True)
class IssuedCode:
    """A code handed out by :func:`issue_code`.  ``repr()`` never shows the code."""

    code: str = field(repr=False)
    step: int
    expires_at: datetime.datetime
    remaining: float
    period: int
    waited: float = 0.0

    def __repr__(self) -> str:
        return "IssuedCode(code=<hidden>, step=%d, expires_at=%s, remaining=%.1f, period=%d, waited=%.1f)" % (
            self.step,
            self.expires_at.isoformat(),
            self.remaining,
            self.period,
            self.waited,
        )

    __str__ = __repr__

    def as_dict(self) -> typing.Dict[str, typing.Any]:
        """``{code, expires_at (ISO 8601 UTC, 'Z'), remaining (whole seconds), period}``."""
        return {
            "code": self.code,
            "expires_at": self.expires_at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "remaining": int(self.remaining),
            "period": self.period,
        }


def _check_seconds(value: typing.Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TotpError("%s must be a number of seconds" % name)
    return float(value)


def issue_code(
    spec: TotpSpec,
    *,
    min_remaining: float = 5,
    unique: bool = True,
    ledger: typing.Optional[CodeLedger] = None,
    clock: typing.Callable[[], float] = time.time,
    sleep: typing.Callable[[float], typing.Any] = time.sleep,
    max_wait: typing.Optional[float] = None,
) -> IssuedCode:
    """Return a code with at least *min_remaining* seconds of validity left.

    When fewer than *min_remaining* seconds remain in the current window, wait
    for the next one.  When *unique* is true, claim the (seed, step) pair in
    *ledger* (the default ledger file if None) and wait for the next window if
    it was already handed out.  Waiting longer than *max_wait* seconds
    (default ``2 * period + min_remaining``) raises :class:`TotpError`.
    """
    if not isinstance(spec, TotpSpec):
        raise TotpError("issue_code needs a TotpSpec (see parse_seed)")
    min_remaining = _check_seconds(min_remaining, "min_remaining")
    if not 0 <= min_remaining < spec.period:
        raise TotpError(
            "min_remaining must be at least 0 and less than the period (%d seconds), got %g"
            % (spec.period, min_remaining)
        )
    if max_wait is None:
        max_wait = 2 * spec.period + min_remaining
    max_wait = _check_seconds(max_wait, "max_wait")
    if max_wait < 0:
        raise TotpError("max_wait must not be negative")
    if unique and ledger is None:
        ledger = CodeLedger()
    _require_pyotp()

    start = clock()
    waited = 0.0
    while True:
        now = clock()
        step = time_step(spec, now)
        window_end = (step + 1) * spec.period
        left = window_end - now
        if left >= min_remaining and (not unique or ledger.claim(spec, step)):  # type: ignore[union-attr]
            return IssuedCode(
                code=code_at(spec, step * spec.period),
                step=step,
                expires_at=datetime.datetime.fromtimestamp(window_end, tz=datetime.timezone.utc),
                remaining=left,
                period=spec.period,
                waited=waited,
            )
        if left >= min_remaining:
            reason = "every code of the windows within max_wait was already issued on this controller"
        else:
            reason = "the windows within max_wait have less than min_remaining seconds left"
        if (now - start) + left > max_wait:
            raise TotpError("no TOTP code could be issued within max_wait (%g seconds): %s" % (max_wait, reason))
        sleep(left)
        waited += left
