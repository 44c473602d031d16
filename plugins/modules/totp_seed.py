#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: totp_seed
short_description: Put an existing TOTP seed into a store (for example the AWS root account's MFA seed)
version_added: 0.1.0
description:
  - Validates a TOTP seed, given as base32 text or as an C(otpauth://totp/) URI, and writes it to a store under
    I(name), from where the M(keyturn.aws.totp) lookup hands out codes and nobody needs to see the seed again.
  - Typical use is the MFA seed of an AWS account root user, which AWS lets you enrol only in the console. Capture
    the secret key (I(Show secret key)) or the QR code's URI there, keep it in a vault-encrypted variable, and store
    it with this module.
  - The seed is normalized first (spaces, dashes, case and C(=) padding do not matter), so the task is idempotent. It
    reports a change only when the seed or one of its parameters differs from the stored one.
  - The seed is never returned, logged, shown in a diff, or put in an error message.
  - With a file store no AWS call is made (the connection options are not needed); Secrets Manager and SSM stores are
    reached with the connection options.
author:
  - keyturn.aws developers (@keyturn)
options:
  name:
    description:
      - Store record name of the seed, for example C(123456789012/root-mfa).
      - 1 to 256 characters from C(A-Z a-z 0-9 / _ + = . @ -).
    type: str
    required: true
  seed:
    description:
      - The seed as base32 text (as AWS shows it) or as an C(otpauth://totp/...) URI (the content of the QR code).
      - Required with I(state=present). Never logged.
    type: str
  state:
    description:
      - C(present) stores the seed (replacing a different one); C(absent) removes the record with every stage.
    type: str
    choices: [present, absent]
    default: present
  digits:
    description:
      - Code length, 6, 7 or 8. Defaults to the URI's C(digits), else 6 (what AWS uses).
    type: int
  period:
    description:
      - Code lifetime in seconds, 15 to 120. Defaults to the URI's C(period), else 30 (what AWS uses).
    type: int
  algorithm:
    description:
      - HMAC algorithm, C(SHA1), C(SHA256) or C(SHA512) (any case). Defaults to the URI's C(algorithm), else C(SHA1)
        (what AWS uses).
    type: str
  audit_log:
    description:
      - Append a JSON line per change (who, when, which record; never the seed) to this file.
    type: path
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store
attributes:
  check_mode:
    support: full
    description: Reports whether the seed would be stored or removed; changes nothing.
  diff_mode:
    support: full
    description: Shows the record's name and parameters before and after; the seed itself is always C((hidden)).
notes:
  - A record written by M(keyturn.aws.virtual_mfa) is not replaced or removed by this module; use
    M(keyturn.aws.virtual_mfa) with I(state=absent) for it.
  - A record that holds something else than a TOTP seed (for example an access key) is never touched.
seealso:
  - plugin: keyturn.aws.totp
    plugin_type: lookup
  - module: keyturn.aws.virtual_mfa
"""

EXAMPLES = r"""
- name: Store the root account's MFA seed captured at console enrolment (from a vault-encrypted variable)
  keyturn.aws.totp_seed:
    name: "123456789012/root-mfa"
    seed: "{{ vault_root_mfa_seed }}"
    store:
      type: file
      path: /etc/keyturn/secrets.vault.yml

- name: Store a seed given as an otpauth URI in Secrets Manager of the security account
  keyturn.aws.totp_seed:
    name: "210987654321/root-mfa"
    seed: "{{ vault_root_mfa_uri }}"
    region: eu-west-1
    store:
      type: secretsmanager
      prefix: keyturn/

- name: Remove a seed
  keyturn.aws.totp_seed:
    name: "123456789012/root-mfa"
    state: absent
    store:
      type: file
      path: /etc/keyturn/secrets.vault.yml
"""

RETURN = r"""
name:
  description: Store record name of the seed.
  returned: always
  type: str
  sample: 123456789012/root-mfa
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
store:
  description: The store that holds the record (type and location, never a secret).
  returned: always
  type: str
  sample: file store /etc/keyturn/secrets.vault.yml
digits:
  description: Code length of the stored seed.
  returned: when I(state=present)
  type: int
  sample: 6
period:
  description: Code lifetime in seconds.
  returned: when I(state=present)
  type: int
  sample: 30
algorithm:
  description: HMAC algorithm.
  returned: when I(state=present)
  type: str
  sample: SHA1
issuer:
  description: Issuer from the otpauth URI.
  returned: when I(state=present) and the URI names one
  type: str
  sample: Amazon Web Services
account:
  description: Account label from the otpauth URI.
  returned: when I(state=present) and the URI names one
  type: str
  sample: root-account-mfa-device@123456789012
msg:
  description: What was done.
  returned: always
  type: str
  sample: TOTP seed '123456789012/root-mfa' stored
"""

from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module
from ansible_collections.keyturn.aws.plugins.module_utils._totp_seed import ARGUMENT_SPEC, run


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
