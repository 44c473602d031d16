# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers: the store option for each store type, and a reader for assertions."""

from __future__ import annotations

import os
import typing as t

import boto3

from ansible_collections.keyturn.aws.plugins.module_utils._store_secretsmanager import SecretsManagerStore
from ansible_collections.keyturn.aws.plugins.module_utils._store_ssm import SsmStore
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password

STORE_TYPES = ("file", "secretsmanager", "ssm")
VAULT_PASSWORD = "integration-vault-password"


def aws_client(url: str, creds: t.Mapping[str, str], service: str, region: str = "us-east-1") -> t.Any:
    return boto3.client(service, region_name=region, endpoint_url=url, aws_access_key_id=creds["access_key_id"],
                        aws_secret_access_key=creds["secret_access_key"])


class StoreUnderTest:
    def __init__(self, kind: str, tmp: str, url: str, admin: t.Mapping[str, str], region: str = "us-east-1") -> None:
        self.kind = kind
        if kind == "file":
            self.option: t.Dict[str, t.Any] = {"type": "file", "path": os.path.join(tmp, "store.vault.yml")}
            self.store: t.Any = FileStore(self.option["path"], vault_secrets_from_password(VAULT_PASSWORD))
        elif kind == "secretsmanager":
            prefix = f"kt{os.path.basename(tmp)[-6:]}/"
            self.option = {"type": "secretsmanager", "prefix": prefix, "region": region}
            self.store = SecretsManagerStore(aws_client(url, admin, "secretsmanager", region), prefix=prefix)
        else:
            prefix = f"/kt{os.path.basename(tmp)[-6:]}/"
            self.option = {"type": "ssm", "prefix": prefix, "region": region}
            self.store = SsmStore(aws_client(url, admin, "ssm", region), prefix=prefix)

    def current(self, name: str) -> t.Optional[dict]:
        return self.store.read(name).current

    def read(self, name: str) -> t.Any:
        return self.store.read(name)
