# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: totp
short_description: A current TOTP code for a stored seed or a seed given inline
version_added: 0.1.0
description:
  - Returns the current TOTP code of each seed named in the terms (record names in I(store), as written by
    M(keyturn.aws.totp_seed) or M(keyturn.aws.virtual_mfa)), or of the seed given inline with I(seed).
  - When fewer than I(min_remaining) seconds are left in the current time window, waits for the next window and
    returns its code, so the code is still valid when AWS checks it.
  - With I(unique) (the default), never returns the same code (seed and time step) twice on this controller, also
    across concurrent C(ansible-playbook) processes, because AWS rejects a code that was already used. A second
    request in the same window waits for the next one.
  - Seeds are normalized (spaces, dashes, case and C(=) padding do not matter). Bad seeds, bad URIs and
    out-of-range options fail with a clear message that never contains the seed. Seeds and codes are never logged.
  - A seed must decode to 112 to 1024 bits and must not be degenerate (every byte the same, for example all C(A)).
  - An unknown keyword option (a typo such as C(min_remainig=25)) is an error that names it.
  - With a C(file) store, a store file that does not exist is an error (check I(store.path)).
  - Codes are computed by the C(pyotp) library.
author:
  - keyturn.aws developers (@keyturn)
options:
  _terms:
    description:
      - Store record names of seeds. One code is returned per name, in order.
      - Leave empty when I(seed) is given.
    type: list
    elements: str
    required: false
  seed:
    description:
      - A seed given inline instead of a stored one, as base32 text or as an C(otpauth://totp/...) URI. Typically a
        vault-encrypted variable.
      - Mutually exclusive with terms.
    type: str
  digits:
    description:
      - Code length, 6, 7 or 8.
      - Defaults to the stored record's or the URI's value, else 6 (what AWS uses).
    type: int
    env:
      - name: KEYTURN_AWS_TOTP_DIGITS
    ini:
      - section: keyturn_aws_totp
        key: digits
    vars:
      - name: keyturn_aws_totp_digits
  period:
    description:
      - Length of a time window in seconds, 15 to 120.
      - Defaults to the stored record's or the URI's value, else 30 (what AWS uses).
    type: int
    env:
      - name: KEYTURN_AWS_TOTP_PERIOD
    ini:
      - section: keyturn_aws_totp
        key: period
    vars:
      - name: keyturn_aws_totp_period
  algorithm:
    description:
      - HMAC algorithm, C(SHA1), C(SHA256) or C(SHA512) (any case).
      - Defaults to the stored record's or the URI's value, else C(SHA1) (what AWS uses).
    type: str
    env:
      - name: KEYTURN_AWS_TOTP_ALGORITHM
    ini:
      - section: keyturn_aws_totp
        key: algorithm
    vars:
      - name: keyturn_aws_totp_algorithm
  min_remaining:
    description:
      - Minimum number of seconds the returned code must stay valid. With fewer left in the current window, the
        lookup waits for the next window. At least 0 and less than the period.
    type: int
    default: 5
    env:
      - name: KEYTURN_AWS_TOTP_MIN_REMAINING
    ini:
      - section: keyturn_aws_totp
        key: min_remaining
    vars:
      - name: keyturn_aws_totp_min_remaining
  unique:
    description:
      - Never return the same code (seed and time step) twice on this controller, across processes; a second
        request in the same window waits for the next one.
      - The codes handed out are recorded in I(ledger_path) (a keyed hash of the seed, never the seed or the code).
    type: bool
    default: true
    env:
      - name: KEYTURN_AWS_TOTP_UNIQUE
    ini:
      - section: keyturn_aws_totp
        key: unique
    vars:
      - name: keyturn_aws_totp_unique
  ledger_path:
    description:
      - The ledger of the codes handed out on this controller (used with I(unique)); mode C(0600), in a directory
        of mode C(0700). Shared with M(keyturn.aws.virtual_mfa).
      - Its directory must exist (only the default one is created); a symbolic link is followed.
    type: path
    default: ~/.ansible/keyturn/totp-ledger.json
    env:
      - name: KEYTURN_AWS_TOTP_LEDGER_PATH
    ini:
      - section: keyturn_aws_totp
        key: ledger_path
    vars:
      - name: keyturn_aws_totp_ledger_path
  output:
    description:
      - C(code) returns the code as a string.
      - C(dict) returns a dict with C(code), C(expires_at) (ISO 8601, UTC), C(remaining) (whole seconds of
        validity left) and C(period).
    type: str
    choices: [code, dict]
    default: code
    env:
      - name: KEYTURN_AWS_TOTP_OUTPUT
    ini:
      - section: keyturn_aws_totp
        key: output
    vars:
      - name: keyturn_aws_totp_output
  audit_log:
    description:
      - Append a JSON line per code handed out to this file. It says when, who (the AWX user or the local user),
        which seed (the record name, or C(inline)) and the AWX job ID when there is one; never the code or the seed.
    type: path
    env:
      - name: KEYTURN_AWS_TOTP_AUDIT_LOG
    ini:
      - section: keyturn_aws_totp
        key: audit_log
    vars:
      - name: keyturn_aws_totp_audit_log
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.connection.plugins
  - keyturn.aws.store.plugins
notes:
  - The store is needed only for stored seeds. A file store needs the run's vault secret; Secrets Manager and SSM
    stores are reached with the connection options (only then are they used).
  - Use the code right away, and keep it out of the output with C(no_log) on the task that uses it.
  - The controller's clock must be right (within a few seconds).
requirements:
  - pyotp
seealso:
  - module: keyturn.aws.totp_seed
  - module: keyturn.aws.virtual_mfa
"""

EXAMPLES = r"""
- name: Assume a role that requires MFA, with the code of a stored seed
  amazon.aws.sts_assume_role:
    role_arn: arn:aws:iam::123456789012:role/admin-with-mfa
    role_session_name: ops
    mfa_serial_number: arn:aws:iam::210987654321:mfa/ops
    mfa_token: "{{ lookup('keyturn.aws.totp', '210987654321/mfa/ops', store=keyturn_store) }}"
  vars:
    keyturn_store:
      type: file
      path: /etc/keyturn/secrets.vault.yml
  no_log: true
  register: assumed

- name: A code for a seed from a vault-encrypted variable (base32 or otpauth URI)
  ansible.builtin.set_fact:
    root_mfa_code: "{{ lookup('keyturn.aws.totp', seed=vault_root_mfa_seed) }}"
  no_log: true

- name: A code with its expiry, valid for at least 20 more seconds
  ansible.builtin.set_fact:
    mfa: "{{ lookup('keyturn.aws.totp', '123456789012/root-mfa', output='dict', min_remaining=20) }}"
  no_log: true
  vars:
    keyturn_aws_store:
      type: secretsmanager
      prefix: keyturn/
      region: eu-west-1
"""

RETURN = r"""
_raw:
  description:
    - One entry per term (one for an inline I(seed)).
    - With I(output=code), the code as a string of digits.
    - With I(output=dict), a dict with C(code) (str), C(expires_at) (str, ISO 8601 UTC, for example
      C(2025-01-31T12:00:30Z)), C(remaining) (int, whole seconds left) and C(period) (int, seconds).
  type: list
  elements: raw
"""

import time
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, TotpError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError, validate_record_name
from ansible_collections.keyturn.aws.plugins.module_utils._totp_codes import IssuedCode, issue_code
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import TotpSpec, parse_seed
from ansible_collections.keyturn.aws.plugins.module_utils._totp_seed import spec_from_record
from ansible_collections.keyturn.aws.plugins.module_utils._validate import kind_of
from ansible_collections.keyturn.aws.plugins.plugin_utils._lookup import KeyturnLookup

INLINE = "inline"


class LookupModule(KeyturnLookup):
    """keyturn.aws.totp"""

    # Replaced in unit tests.
    clock: t.Callable[[], float] = staticmethod(time.time)
    sleep: t.Callable[[float], t.Any] = staticmethod(time.sleep)

    def run(self, terms: t.List[t.Any], variables: t.Optional[t.Dict[str, t.Any]] = None, **kwargs: t.Any) -> t.List[t.Any]:
        ctx = self.keyturn_setup(variables, kwargs)
        try:
            overrides = {name: self.get_option(name) for name in ("digits", "period", "algorithm")}
            sources = self._sources(list(terms or []), ctx, overrides)
            try:
                audit = AuditLog(self.get_option("audit_log"), actor=ctx.actor, job_id=ctx.job_id)
            except OSError as exc:
                raise ValidationError(f"audit_log: {exc}") from None
            unique = bool(self.get_option("unique"))
            ledger = CodeLedger(self.get_option("ledger_path"), clock=self.clock) if unique else None
            output = self.get_option("output")
            results: t.List[t.Any] = []
            for label, spec in sources:
                issued = self._issue(label, spec, unique, ledger)
                try:
                    audit.event("totp_code_issued", seed_name=label, step=issued.step,
                                expires_at=issued.as_dict()["expires_at"], waited=round(issued.waited, 1))
                except OSError as exc:
                    raise ValidationError(f"could not write the audit log {audit.path}: {exc.strerror or exc}") from None
                results.append(issued.as_dict() if output == "dict" else issued.code)
            return results
        except (KeyturnError, StoreError) as exc:
            raise self.keyturn_error(exc) from None

    def _sources(self, terms: t.List[t.Any], ctx: t.Any, overrides: t.Dict[str, t.Any]) -> t.List[t.Tuple[str, TotpSpec]]:
        """Every (label, spec) to issue a code for; all are checked before any code is issued."""
        seed = self.get_option("seed")
        if seed is not None and terms:
            raise ValidationError("give either seed names as terms or an inline seed=, not both")
        if seed is not None:
            try:
                return [(INLINE, parse_seed(str(seed), **overrides))]
            except TotpError as exc:
                raise ValidationError(f"seed: {exc}") from None
        if not terms:
            raise ValidationError("no seed given: pass the store names of seeds as terms, or an inline seed=")
        names = []
        for term in terms:
            if not isinstance(term, str):
                raise ValidationError(f"the terms must be store record names (strings), got {kind_of(term)}")
            names.append(validate_record_name(str(term)))
        store = self.keyturn_store(ctx)
        where = store.describe()
        return [(name, spec_from_record(store.read_current(name), name, where=where, **overrides)) for name in names]

    def _issue(self, label: str, spec: TotpSpec, unique: bool, ledger: t.Optional[CodeLedger]) -> IssuedCode:
        try:
            return issue_code(spec, min_remaining=self.get_option("min_remaining"), unique=unique, ledger=ledger,
                              clock=self.clock, sleep=self.sleep)
        except TotpError as exc:
            raise ValidationError(f"TOTP seed {label!r}: {exc}") from None
