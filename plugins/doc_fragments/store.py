# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The ``store`` option shared by every module and lookup that reads or writes secrets."""

    DOCUMENTATION = r"""
options:
  store:
    description:
      - Where the secrets live. Record names default to C(<account_id>/<user_name>).
    type: dict
    required: true
    suboptions:
      type:
        description:
          - C(file) is an Ansible-Vault-encrypted YAML file, encrypted with the run's own vault secrets
            (C(--vault-id), C(--vault-password-file), an AWX vault credential); the password is never a task option.
            Writes are atomic, mode C(0600), serialized with a lock.
          - C(secretsmanager) keeps one secret per record under I(prefix), with the staging labels
            C(AWSPENDING), C(AWSCURRENT) and C(AWSPREVIOUS).
          - C(ssm) keeps one SecureString parameter per record under I(prefix).
        type: str
        choices: [file, secretsmanager, ssm]
        default: file
      path:
        description: Path of the vault-encrypted store file (type C(file); required there).
        type: str
      vault_id:
        description: Vault ID whose secret encrypts the file (type C(file)); default the first loaded secret.
        type: str
      prefix:
        description: Name prefix of the records (C(keyturn/) for Secrets Manager, C(/keyturn/) for SSM).
        type: str
      region:
        description:
          - Region of the Secrets Manager or SSM store; defaults to the task's I(region).
          - Reached with the base credentials (before I(assume_role)), so one security account can hold the
            secrets of many member accounts.
        type: str
      kms_key_id:
        description: KMS key for Secrets Manager or SSM encryption; default the AWS managed key.
        type: str
      backups:
        description:
          - Type C(file) only. Before each change, the version being replaced is kept next to the file as
            C(<path>.<UTC timestamp>.bak) (for example C(secrets.yml.20250131T120000.123456Z.bak)), encrypted like the
            store and with the same mode; only the newest I(backups) are kept. C(0) keeps none. At most 100.
          - To restore one, copy it back over the store file while no keyturn.aws run is active (see the README,
            "Restoring a file store backup"). A store file that does not decrypt or parse is never overwritten.
          - Defaults to C(3).
        type: int
"""

    # keyturn.aws.store.optional: the modules that only read a store, to compare with it or to search it
    # (access_key_info, access_key_locate, access_key_retire, credential_report_info, credential_report_remediate).
    # Optional; a module that needs the store sets "required: true" on its own store entry (ansible merges a
    # module's keys of an option over the fragment's). What the store adds to a result is in the module's description.
    OPTIONAL = r"""
options:
  store:
    description:
      - The store to read, with the same keys as the I(store) option of M(keyturn.aws.access_key_rotate). This
        module never writes to it.
      - Records are looked up under their default names C(<account_id>/<user_name>) unless the module says otherwise.
    type: dict
    suboptions:
      type:
        description: C(file) (the default), C(secretsmanager) or C(ssm); see M(keyturn.aws.access_key_rotate).
        type: str
        choices: [file, secretsmanager, ssm]
        default: file
      path:
        description: The vault-encrypted store file; type C(file) needs it.
        type: str
      vault_id:
        description: Vault ID of the secret that decrypts the file (type C(file)); default the first loaded secret.
        type: str
      prefix:
        description: Name prefix of the records (Secrets Manager and SSM).
        type: str
      region:
        description: Region of the Secrets Manager or SSM store (default the task's I(region)), reached with the base
          credentials (before I(assume_role)).
        type: str
      kms_key_id:
        description: KMS key of the Secrets Manager or SSM store (used by the modules that write it).
        type: str
      backups:
        description: Previous versions of a C(file) store kept on writes (see M(keyturn.aws.access_key_rotate)); this
          module only reads the store, so it has no effect here.
        type: int
"""

    # Lookups: the same option, optional and settable from variables.
    PLUGINS = r"""
options:
  store:
    description:
      - Where the secrets live (same keys as the modules' I(store) option).
    type: dict
    vars:
      - name: keyturn_aws_store
"""
