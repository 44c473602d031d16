# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throttling outlasts botocore's retry budget: keep retrying a throttled call.

botocore gives a call up after ``max_attempts`` or once the client's retry quota is spent, whatever the error.
Under heavy throttling (30 % of calls refused) a run of hundreds of calls meets, now and then, one call refused
nine times in a row, and a rotation failed on it. A throttled request was not carried out (AWS asks to slow down
and does nothing), so sending it again is always safe, for ``CreateAccessKey`` too. :func:`register` adds a
``needs-retry`` handler after botocore's own: where botocore stops, it retries a throttled answer, with
botocore's full-jitter exponential back-off capped at :data:`MAX_DELAY` seconds, until the call has been tried
:data:`THROTTLE_ATTEMPTS` times. Any other error is left to botocore's decision (and to the caller).
"""

from __future__ import annotations

import random
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import THROTTLE_CODES

# Attempts in all for a call that AWS keeps throttling: at 30 % throttling one call in 230 million fails.
THROTTLE_ATTEMPTS = 16
# The longest wait between two attempts (botocore's own cap).
MAX_DELAY = 20.0


def is_throttled(response: t.Any) -> bool:
    """Whether a botocore ``(http_response, parsed)`` answer is AWS asking to slow down."""
    if not isinstance(response, tuple) or len(response) != 2:
        return False
    http, parsed = response
    if getattr(http, "status_code", None) == 429:
        return True
    error = parsed.get("Error") if isinstance(parsed, dict) else None
    return isinstance(error, dict) and error.get("Code") in THROTTLE_CODES


def throttle_delay(attempts: int, response: t.Any = None, rand: t.Callable[[], float] = random.random,
                   **_kwargs: t.Any) -> t.Optional[float]:
    """Seconds to wait before trying again a call that was throttled on attempt ``attempts`` (None: do not)."""
    if attempts >= THROTTLE_ATTEMPTS or not is_throttled(response):
        return None
    return min(MAX_DELAY, rand() * 2 ** (attempts - 1))


def register(client: t.Any) -> None:
    """Retry ``client``'s throttled calls where botocore's own retries stop (see the module's text)."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_last(f"needs-retry.{service}", throttle_delay, unique_id=f"keyturn-throttle-{service}")
