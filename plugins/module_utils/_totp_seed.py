# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.totp_seed, and the TOTP seed record shared with
keyturn.aws.virtual_mfa and the keyturn.aws.totp lookup.

A seed record (the ``current`` stage of a store name)::

    {kind: totp_seed, seed: <normalized base32>, digits, period, algorithm,
     issuer?, account?, created, updated?,
     source?: virtual_mfa, serial_number?, user_name?, account_id?, partition?}

The seed lives only in the store: it is never returned, logged, diffed or put
in an error message.
"""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog, isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec, connection_params
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StagedRecord, Store, StoreError, validate_record_name
from ansible_collections.keyturn.aws.plugins.module_utils._task import STORE_OPTION, open_store
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import TotpSpec, normalize_seed, parse_seed

KIND = "totp_seed"
INTENT_KIND = "virtual_mfa_intent"
PARAMETERS = ("digits", "period", "algorithm", "issuer", "account")
HIDDEN = "(hidden)"

ARGUMENT_SPEC = argument_spec(
    {
        "name": {"type": "str", "required": True},
        "seed": {"type": "str", "no_log": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "digits": {"type": "int"},
        "period": {"type": "int"},
        "algorithm": {"type": "str"},
        "store": STORE_OPTION,
        "audit_log": {"type": "path"},
    }
)


# ---------------------------------------------------------------------------
# The record (shared with virtual_mfa and the lookup)


def seed_record(spec: TotpSpec, *, created: t.Optional[str] = None, **extra: t.Any) -> t.Dict[str, t.Any]:
    """The store record of *spec*; *extra* fields with a None value are left out."""
    record: t.Dict[str, t.Any] = {
        "kind": KIND,
        "seed": spec.secret,
        "digits": spec.digits,
        "period": spec.period,
        "algorithm": spec.algorithm,
        "created": created or isoformat(utcnow()),
    }
    if spec.issuer:
        record["issuer"] = spec.issuer
    if spec.account:
        record["account"] = spec.account
    record.update({key: value for key, value in extra.items() if value is not None})
    return record


def check_kind(name: str, staged: StagedRecord, accepted: t.Tuple[str, ...] = (KIND,)) -> None:
    """Refuse to touch a store name that holds something else (an access key ...)."""
    for stage in staged:
        if stage is not None and stage.get("kind") not in accepted:
            raise ValidationError(
                f"the store record {name!r} holds a {stage.get('kind') or 'untyped'!s} record, not a TOTP seed; "
                "choose another name"
            )


def spec_from_record(
    record: t.Optional[t.Mapping[str, t.Any]],
    name: str,
    *,
    digits: t.Optional[int] = None,
    period: t.Optional[int] = None,
    algorithm: t.Optional[str] = None,
    where: str = "the store",
) -> TotpSpec:
    """The TotpSpec of a stored seed; options that are not None override the record's."""
    if record is None:
        raise ValidationError(
            f"no TOTP seed is stored under {name!r} in {where}; put one there with keyturn.aws.totp_seed "
            "or keyturn.aws.virtual_mfa"
        )
    if record.get("kind") != KIND:
        raise ValidationError(f"the store record {name!r} is a {record.get('kind') or 'untyped'!s} record, not a TOTP seed")
    seed = record.get("seed")
    if not isinstance(seed, str):
        raise ValidationError(f"the store record {name!r} has no seed")
    try:
        return TotpSpec(
            secret=seed,
            digits=digits if digits is not None else record.get("digits", 6),
            period=period if period is not None else record.get("period", 30),
            algorithm=algorithm if algorithm is not None else record.get("algorithm", "SHA1"),
            issuer=record.get("issuer"),
            account=record.get("account"),
        )
    except TotpError as exc:
        raise ValidationError(f"the TOTP seed stored under {name!r}: {exc}") from None


def public_parameters(spec_or_record: t.Any) -> t.Dict[str, t.Any]:
    """digits, period, algorithm, issuer, account: everything but the seed."""
    if isinstance(spec_or_record, TotpSpec):
        return {key: getattr(spec_or_record, key) for key in PARAMETERS}
    return {key: spec_or_record.get(key) for key in PARAMETERS}


def same_seed(record: t.Optional[t.Mapping[str, t.Any]], spec: TotpSpec) -> bool:
    """True when *record* holds exactly *spec* (normalized seed and every parameter)."""
    if not record or record.get("kind") != KIND or not isinstance(record.get("seed"), str):
        return False
    try:
        stored = normalize_seed(record["seed"])
    except TotpError:
        return False
    return stored == spec.secret and public_parameters(record) == public_parameters(spec)


# ---------------------------------------------------------------------------
# Engine


def task_store(params: t.Mapping[str, t.Any], ctx: RunContext) -> Store:
    """The task's store.  A file store needs no AWS access (and no STS call);
    Secrets Manager and SSM are reached with the task's credentials."""
    spec = dict(params["store"])
    base = None
    if (spec.get("type") or "file") != "file":
        values = dict(params)
        if not values.get("region"):
            values["region"] = spec.get("region")
        base = AwsConnection(connection_params(values))
    return open_store(spec, base, ctx)


def _check_name(name: t.Any) -> str:
    try:
        return validate_record_name(str(name) if isinstance(name, str) else name)  # plain str, no data tags
    except StoreError as exc:
        raise ValidationError(f"name: {exc}") from None


def _desired(params: t.Mapping[str, t.Any]) -> TotpSpec:
    seed = params.get("seed")
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        raise ValidationError("seed is required with state=present: a base32 seed or an otpauth://totp/ URI")
    try:
        return parse_seed(seed, digits=params.get("digits"), period=params.get("period"), algorithm=params.get("algorithm"))
    except TotpError as exc:
        raise ValidationError(f"seed: {exc}") from None


def _view(record: t.Optional[t.Mapping[str, t.Any]], name: str, seed_note: str = HIDDEN) -> t.Dict[str, t.Any]:
    if not record:
        return {"name": name, "state": "absent"}
    view: t.Dict[str, t.Any] = {"name": name, "state": "present", "seed": seed_note}
    view.update({key: value for key, value in public_parameters(record).items() if value is not None})
    if record.get("serial_number"):
        view["serial_number"] = record["serial_number"]
    return view


def _refuse_device_seed(name: str, record: t.Optional[t.Mapping[str, t.Any]], doing: str) -> None:
    if record and record.get("source") == "virtual_mfa":
        raise ValidationError(
            f"the store record {name!r} is the seed of the virtual MFA device {record.get('serial_number')} "
            f"enrolled by keyturn.aws.virtual_mfa; refusing to {doing} it here: use keyturn.aws.virtual_mfa "
            "with state=absent to remove the device and its seed"
        )


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    name = _check_name(params["name"])
    state = params.get("state") or "present"
    desired = _desired(params) if state == "present" else None
    try:
        audit = AuditLog(params.get("audit_log"), actor=ctx.actor, job_id=ctx.job_id)
    except OSError as exc:
        raise ValidationError(str(exc)) from None
    store = task_store(params, ctx)
    staged = store.read(name)
    check_kind(name, staged, (KIND, INTENT_KIND))
    current = staged.current
    if desired is not None:
        changed = not same_seed(current, desired)
        if changed:
            _refuse_device_seed(name, current, "replace")
        after: t.Optional[t.Dict[str, t.Any]] = seed_record(desired)
        if changed and current and current.get("created"):
            after = seed_record(desired, created=str(current["created"]), updated=isoformat(utcnow()))
        if changed and not ctx.check_mode:
            store.write_current(name, t.cast(t.Dict[str, t.Any], after))
            audit.event("totp_seed_stored", seed_name=name, store_type=store.kind, **_audit_fields(desired))
    else:
        changed = not staged.empty
        if changed:
            _refuse_device_seed(name, current, "remove")
        after = None
        if changed and not ctx.check_mode:
            store.delete(name)
            audit.event("totp_seed_removed", seed_name=name, store_type=store.kind)
    result: t.Dict[str, t.Any] = {
        "changed": changed,
        "name": name,
        "state": state,
        "store": store.describe(),
        "msg": _message(name, state, changed, ctx.check_mode),
    }
    if desired is not None:
        result.update({key: value for key, value in public_parameters(desired).items() if value is not None})
    if ctx.diff:
        note = HIDDEN if not changed or current is None else "(hidden, replaced)"
        result["diff"] = {"before": _view(current, name), "after": _view(after, name, note)}
    return result


def _audit_fields(spec: TotpSpec) -> t.Dict[str, t.Any]:
    return {"digits": spec.digits, "period": spec.period, "algorithm": spec.algorithm, "label": spec.label}


def _message(name: str, state: str, changed: bool, check_mode: bool) -> str:
    if not changed:
        return f"TOTP seed {name!r} is already {'stored' if state == 'present' else 'absent'}"
    verb = "stored" if state == "present" else "removed"
    return f"TOTP seed {name!r} {'would be ' if check_mode else ''}{verb}"
