# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option adapter: one definition of the shared options, read the same way
by modules, action plugins and lookups.

``CONNECTION_SPEC`` uses amazon.aws's option names, aliases and environment
variables.  Modules and action plugins validate it as an Ansible argument
spec; lookups declare the same names in their documentation and hand the
values of ``get_option`` to :func:`connection_params`.
"""

from __future__ import annotations

import copy
import os
import typing as t

from ansible.module_utils.basic import env_fallback

from ansible_collections.keyturn.aws.plugins.module_utils._connection import AssumeRole, ConnectionParams
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError

# name -> environment variables, in botocore / amazon.aws order of precedence.  Settings only:
# credentials from the environment are resolved by credentials_from_env(), so that an explicit
# profile is never mixed with keys some credential (an AWX one, say) put in the environment.
CONNECTION_ENV: t.Dict[str, t.List[str]] = {
    "region": ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"],
    "endpoint_url": ["AWS_URL", "AWS_ENDPOINT_URL", "EC2_URL"],
    "aws_ca_bundle": ["AWS_CA_BUNDLE"],
}

ASSUME_ROLE_SPEC: t.Dict[str, t.Any] = {
    "role_arn": {"type": "str", "required": True},
    "external_id": {"type": "str", "no_log": True},
    "session_name": {"type": "str", "default": "keyturn-aws"},
    "duration_seconds": {"type": "int", "default": 3600},
}

CONNECTION_SPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "access_key": {"type": "str", "aliases": ["aws_access_key_id", "aws_access_key", "ec2_access_key"], "no_log": False},
    "secret_key": {"type": "str", "aliases": ["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"], "no_log": True},
    "session_token": {"type": "str", "aliases": ["aws_session_token", "security_token", "aws_security_token", "access_token"], "no_log": True},
    "profile": {"type": "str", "aliases": ["aws_profile"]},
    "region": {"type": "str", "aliases": ["aws_region", "ec2_region"]},
    "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url", "ec2_url"]},
    "aws_ca_bundle": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "assume_role": {"type": "dict", "options": ASSUME_ROLE_SPEC},
}
CONNECTION_OPTION_NAMES = tuple(CONNECTION_SPEC)


def connection_argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    """The shared options as an Ansible argument spec, with env fallbacks."""
    spec = copy.deepcopy(CONNECTION_SPEC)
    for name, envs in CONNECTION_ENV.items():
        spec[name]["fallback"] = (env_fallback, envs)
    return spec


def argument_spec(extra: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.Dict[str, t.Dict[str, t.Any]]:
    spec = connection_argument_spec()
    spec.update(copy.deepcopy(dict(extra)))
    return spec


CREDENTIAL_ENV: t.Dict[str, t.List[str]] = {
    "access_key": ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"],
    "secret_key": ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"],
    "session_token": ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"],
}


def credentials_from_env(values: t.Mapping[str, t.Any], environ: t.Mapping[str, str]) -> t.Dict[str, t.Any]:
    """Fill access_key/secret_key/session_token from the environment (amazon.aws's variable
    names) when the task gives neither keys nor a profile, as botocore does."""
    values = dict(values)
    if values.get("access_key") or values.get("profile"):
        return values
    for name, envs in CREDENTIAL_ENV.items():
        values[name] = next((environ[e] for e in envs if environ.get(e)), None)
    if not values.get("access_key"):
        values["secret_key"] = values["session_token"] = None  # leave it all to botocore's chain
    return values


def connection_params(values: t.Mapping[str, t.Any], environ: t.Optional[t.Mapping[str, str]] = None) -> ConnectionParams:
    """Build ConnectionParams from validated option values (module, action or lookup)."""
    values = credentials_from_env(values, os.environ if environ is None else environ)
    endpoint_url = values.get("endpoint_url")
    if endpoint_url is not None and not str(endpoint_url).strip():
        # Empty is a mistake (an unset variable, a typo), not "use AWS": falling back to the real
        # endpoints would send the calls somewhere the user did not mean.
        raise ValidationError(
            "endpoint_url is empty (or AWS_URL / AWS_ENDPOINT_URL / EC2_URL is set to an empty value): give an "
            "http:// or https:// URL, or leave the option out (and unset the variable) to use the region's AWS endpoints"
        )
    role = values.get("assume_role")
    assume = None
    if role:
        if not isinstance(role, t.Mapping) or not role.get("role_arn"):
            raise ValidationError("assume_role must be a dict with at least role_arn")
        unknown = set(role) - set(ASSUME_ROLE_SPEC)
        if unknown:
            raise ValidationError(f"assume_role has unknown keys {sorted(unknown)}; accepted: {sorted(ASSUME_ROLE_SPEC)}")
        try:
            duration = int(role.get("duration_seconds") or 3600)
        except (TypeError, ValueError):
            raise ValidationError("assume_role.duration_seconds must be an integer number of seconds")
        assume = AssumeRole(
            role_arn=str(role["role_arn"]),
            external_id=role.get("external_id") or None,
            session_name=str(role.get("session_name") or "keyturn-aws"),
            duration_seconds=duration,
        )
    validate_certs = values.get("validate_certs")
    params = ConnectionParams(
        access_key=values.get("access_key") or None,
        secret_key=values.get("secret_key") or None,
        session_token=values.get("session_token") or None,
        profile=values.get("profile") or None,
        region=values.get("region") or None,
        endpoint_url=values.get("endpoint_url") or None,
        aws_ca_bundle=values.get("aws_ca_bundle") or None,
        validate_certs=True if validate_certs is None else bool(validate_certs),
        assume_role=assume,
    )
    params.validate()
    return params
