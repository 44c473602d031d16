# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report of keyturn.aws.rotate_access_keys: data, JSON and a self-contained HTML page.

Pure functions, no Ansible and no I/O:

* :func:`build_report` turns the registered results of the role's steps (loops
  over targets of ``access_key_verify``, ``access_key_rotate``,
  ``access_key_reconcile`` and ``access_key_info``) into the report data.
* :func:`sanitize_report` projects any report-shaped data onto the report
  schema.  Only whitelisted fields survive, so a secret that slipped into the
  input (a ``secret_access_key``, a session token, a target's connection
  options) can never reach a report; free text is also scrubbed of anything
  shaped like a secret access key.
* :func:`render_json` and :func:`render_html` render sanitized data.  The HTML
  page has inline CSS and an inline SVG chart, loads nothing, and escapes every
  value.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import re
import typing as t

FORMAT = "keyturn.aws.report/1"
KINDS = ("rotation", "verification", "discovery", "reconciliation")
TITLES = {
    "rotation": "Access key rotation report",
    "verification": "Access key verification report",
    "discovery": "Access key discovery report",
    "reconciliation": "Access key reconciliation report",
}
STEPS = ("verify_before", "rotate", "reconcile", "verify_after", "info")
AGE_CLASSES = ("ok", "due_soon", "overdue")
CLASS_LABELS = {"ok": "ok", "due_soon": "due soon", "overdue": "overdue"}
DEFAULT_BUCKET_EDGES = (30, 60, 90)
REDACTED = "[redacted]"
# A secret access key: 40 characters of base64 alphabet, not part of a longer token.
_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

# -- the schema: the only fields a report can hold --------------------------------------------------------------------
# Types: "str" (identifiers), "text" (free text, scrubbed), "int", "float", "bool", a dict (nested schema),
# or a one-element list (list of that type).
Schema = t.Dict[str, t.Any]

LAST_USED_SCHEMA: Schema = {"date": "str", "service": "str", "region": "str", "by_keyturn": "bool"}
KEY_SCHEMA: Schema = {
    "access_key_id": "str",
    "status": "str",
    "created": "str",
    "age_days": "float",
    "age_class": "str",
    "current": "bool",
    "managed": "bool",
    "last_used": LAST_USED_SCHEMA,
}
BEFORE_SCHEMA: Schema = {"status": "str", "access_key_id": "str", "age_days": "float"}
# The replaced key's deferred retirement (access_key_rotate retire_after / retire_when_idle).
RETIREMENT_SCHEMA: Schema = {"key_id": "str", "state": "str", "reason": "text", "cut_over": "str", "retire_at": "str",
                             "last_used": {**LAST_USED_SCHEMA, "by_keyturn": "bool"}}
USER_SCHEMA: Schema = {
    "user_name": "str",
    "store_name": "str",
    "max_age_days": "int",
    "action": "str",
    "reason": "text",
    "plan": ["text"],
    "old_key_id": "str",
    "new_key_id": "str",
    "status": "str",
    "valid": "bool",
    "verify_reason": "text",
    "access_key_id": "str",
    "age_days": "float",
    "age_class": "str",
    "due": "bool",
    "drift": ["text"],
    "before": BEFORE_SCHEMA,
    "keys": [KEY_SCHEMA],
    "retirement": RETIREMENT_SCHEMA,
    "retired_key_id": "str",
}
TARGET_SUMMARY_KEYS = ("users", "keys", "active_keys", "ok", "due_soon", "overdue", "rotated", "reconciled",
                       "imported", "skipped", "failed", "valid", "invalid", "missing", "error", "drift", "attention",
                       "retired", "retirement_pending")
SUMMARY_KEYS = ("targets", "accounts", "errors") + TARGET_SUMMARY_KEYS
TARGET_SCHEMA: Schema = {
    "name": "text",
    "account_id": "str",
    "account_alias": "str",
    "partition": "str",
    "region": "str",
    "role_arn": "str",
    "max_age_days": "int",
    "error": "text",
    "summary": {k: "int" for k in TARGET_SUMMARY_KEYS},
    "users": [USER_SCHEMA],
}
BUCKET_SCHEMA: Schema = {"label": "str", "min": "int", "max": "int", "count": "int", "age_class": "str"}
REPORT_SCHEMA: Schema = {
    "format": "str",
    "kind": "str",
    "name": "text",
    "title": "text",
    "headline": "text",
    "generated_at": "str",
    "check_mode": "bool",
    "policy": {"max_age_days": "int", "due_soon_days": "int"},
    "summary": {k: "int" for k in SUMMARY_KEYS},
    "age_buckets": [BUCKET_SCHEMA],
    "problems": ["text"],
    "targets": [TARGET_SCHEMA],
}


def scrub(text: str) -> str:
    """Free text with anything shaped like a secret access key replaced."""
    return _SECRET_SHAPE.sub(REDACTED, text)


def _coerce(kind: str, value: t.Any) -> t.Any:
    if value is None:
        return None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind in ("int", "float"):
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        return int(number) if kind == "int" else round(number, 1)
    if isinstance(value, (dict, list, tuple, set)):
        return None
    text = str(value)
    return scrub(text) if kind == "text" else text


def project(schema: t.Any, value: t.Any) -> t.Any:
    """``value`` reduced to what ``schema`` allows (unknown keys dropped, types coerced)."""
    if isinstance(schema, dict):
        if not isinstance(value, t.Mapping):
            return None
        out: t.Dict[str, t.Any] = {}
        for key, sub in schema.items():
            if key in value:
                out[key] = project(sub, value[key])
        return out
    if isinstance(schema, list):
        if not isinstance(value, (list, tuple)):
            return []
        items = [project(schema[0], item) for item in value]
        return [item for item in items if item is not None]
    return _coerce(schema, value)


def sanitize_report(data: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Any report-shaped mapping projected onto the report schema."""
    return t.cast(t.Dict[str, t.Any], project(REPORT_SCHEMA, data) or {})


# -- policy -----------------------------------------------------------------------------------------------------------
def age_class(age_days: t.Optional[float], max_age_days: int, due_soon_days: int = 14) -> t.Optional[str]:
    """``ok``, ``due_soon`` (within ``due_soon_days`` of ``max_age_days``) or ``overdue`` (at or past it)."""
    if age_days is None:
        return None
    if age_days >= max_age_days:
        return "overdue"
    if age_days >= max_age_days - due_soon_days:
        return "due_soon"
    return "ok"


def age_buckets(ages: t.Iterable[float], max_age_days: int = 90, due_soon_days: int = 14,
                edges: t.Sequence[int] = DEFAULT_BUCKET_EDGES) -> t.List[t.Dict[str, t.Any]]:
    """Counts of ``ages`` per bucket (``0-30``, ``30-60``, ``60-90``, ``90+`` by default).

    A bucket's class is the worst class any age in it can have under the policy."""
    bounds = sorted(set(int(e) for e in edges if int(e) > 0))
    buckets: t.List[t.Dict[str, t.Any]] = []
    low = 0
    for high in bounds + [None]:
        label = f"{low}-{high}" if high is not None else f"{low}+"
        worst = age_class(float(high) - 0.01 if high is not None else float("inf"), max_age_days, due_soon_days)
        buckets.append({"label": label, "min": low, "max": high, "count": 0, "age_class": worst})
        if high is not None:
            low = high
    for age in ages:
        for bucket in buckets:
            if bucket["max"] is None or age < bucket["max"]:
                bucket["count"] += 1
                break
    return buckets


# -- building the report from the role's registered results ----------------------------------------------------------
def _loop_items(value: t.Any) -> t.List[t.Mapping[str, t.Any]]:
    """The per-target results of a registered loop (or a list of results)."""
    if isinstance(value, t.Mapping):
        value = value.get("results", [])
    if not isinstance(value, (list, tuple)):
        return []
    return [item for item in value if isinstance(item, t.Mapping)]


def _target_of(item: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any]:
    loop_var = item.get("ansible_loop_var") or "item"
    target = item.get(loop_var)
    return target if isinstance(target, t.Mapping) else {}


def _user_names(users: t.Any) -> t.List[str]:
    names: t.List[str] = []
    for user in users if isinstance(users, (list, tuple)) else []:
        name = user.get("name") if isinstance(user, t.Mapping) else user
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return names


def _user_max_age(users: t.Any, name: str, default: int) -> int:
    for user in users if isinstance(users, (list, tuple)) else []:
        if isinstance(user, t.Mapping) and user.get("name") == name and user.get("max_age_days") is not None:
            coerced = _coerce("int", user.get("max_age_days"))
            return int(coerced) if coerced is not None else default
    return default


def _partition_of(region: t.Optional[str]) -> t.Optional[str]:
    if not region:
        return None
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _per_user(result: t.Mapping[str, t.Any]) -> t.Optional[t.List[t.Any]]:
    """The per-user entries of a module result (every access-key module returns them as ``users``)."""
    entries = result.get("users")
    return t.cast(t.List[t.Any], entries) if isinstance(entries, list) else None


def _by_user(result: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Mapping[str, t.Any]]:
    out: t.Dict[str, t.Mapping[str, t.Any]] = {}
    if not result:
        return out
    entries = _per_user(result)
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, t.Mapping) and isinstance(entry.get("user_name"), str):
            out[entry["user_name"]] = entry
    return out


def _used(result: t.Optional[t.Mapping[str, t.Any]]) -> bool:
    return bool(result) and not t.cast(t.Mapping[str, t.Any], result).get("skipped")


def _error_of(result: t.Optional[t.Mapping[str, t.Any]], step: str) -> t.Optional[str]:
    """A whole-task failure (no per-user results): the module's message."""
    if not _used(result):
        return None
    result = t.cast(t.Mapping[str, t.Any], result)
    # ``failed_when: false`` (the role's steps) keeps the module's message but clears ``failed``.
    failed = result.get("failed") or (result.get("failed_when_result") is False and result.get("msg"))
    if failed and _per_user(result) is None:
        return f"{step}: {result.get('msg') or 'failed'}"
    return None


# IAM's last use of a key within this long of keyturn's own STS verification with it is that verification.
OWN_USE_WINDOW = datetime.timedelta(minutes=5)


def _parse_when(value: t.Any) -> t.Optional[datetime.datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _own_use(last_used: t.Any, own_times: t.Sequence[datetime.datetime]) -> t.Any:
    """``last_used`` marked ``by_keyturn`` when it is one of keyturn's own verifications of the key (STS, at the time
    keyturn recorded): IAM keeps only the latest use, so the key was not used by anyone else since."""
    if not isinstance(last_used, t.Mapping) or last_used.get("by_keyturn") is not None:
        return last_used
    when = _parse_when(last_used.get("date"))
    if when is None or str(last_used.get("service") or "").lower() != "sts":
        return last_used
    return dict(last_used, by_keyturn=any(abs(when - own) <= OWN_USE_WINDOW for own in own_times))


def _key_rows(keys: t.Any, info_keys: t.Mapping[str, t.Mapping[str, t.Any]], current: t.Optional[str],
              max_age: int, due_soon: int, own_times: t.Sequence[datetime.datetime] = ()) -> t.List[t.Dict[str, t.Any]]:
    rows: t.List[t.Dict[str, t.Any]] = []
    for key in keys if isinstance(keys, list) else []:
        if not isinstance(key, t.Mapping) or not key.get("access_key_id"):
            continue
        key_id = str(key["access_key_id"])
        extra = info_keys.get(key_id, {})
        age = _coerce("float", key.get("age_days"))
        row: t.Dict[str, t.Any] = {
            "access_key_id": key_id,
            "status": key.get("status"),
            "created": key.get("created"),
            "age_days": age,
            "age_class": age_class(age, max_age, due_soon),
            "current": bool(current) and key_id == current,
            "managed": extra.get("managed", key.get("managed")),
            "last_used": extra.get("last_used", key.get("last_used")),
        }
        if row["current"] and own_times:
            row["last_used"] = _own_use(row["last_used"], own_times)
        rows.append(row)
    rows.sort(key=lambda r: (not r["current"], r["status"] != "Active", -(r["age_days"] or 0.0)))
    return rows


def _build_user(name: str, target: t.Mapping[str, t.Any], results: t.Mapping[str, t.Dict[str, t.Mapping[str, t.Any]]],
                max_age: int, due_soon: int) -> t.Dict[str, t.Any]:
    before = results["verify_before"].get(name)
    change = results["rotate"].get(name) or results["reconcile"].get(name)
    after = results["verify_after"].get(name)
    info = results["info"].get(name)
    user_max_age = _user_max_age(target.get("users"), name, max_age)
    user: t.Dict[str, t.Any] = {"user_name": name, "max_age_days": user_max_age}
    for source in (info, before, after, change):
        if source and source.get("store_name"):
            user["store_name"] = source["store_name"]
    if before:
        user["before"] = {"status": before.get("status"), "access_key_id": before.get("access_key_id"),
                          "age_days": before.get("key_age_days")}
    if change:
        user.update(action=change.get("action"), reason=change.get("reason"), plan=change.get("plan") or [],
                    old_key_id=change.get("old_key_id"), new_key_id=change.get("new_key_id"))
        if isinstance(change.get("retirement"), t.Mapping):
            user.update(retirement=change["retirement"], retired_key_id=change.get("retired_key_id"))
    verified = after or before
    if verified:
        user.update(status=verified.get("status"), valid=verified.get("valid"), verify_reason=verified.get("reason"),
                    access_key_id=verified.get("access_key_id"), drift=verified.get("drift") or [])
    info_keys = {str(k.get("access_key_id")): k for k in (info or {}).get("keys") or [] if isinstance(k, t.Mapping)}
    current = user.get("access_key_id")
    keys_source = (info or {}).get("keys") if info else (verified or {}).get("keys")
    own_times = [moment for moment in (_parse_when((step or {}).get("verified_at")) for step in (before, after)) if moment]
    user["keys"] = _key_rows(keys_source, info_keys, current, user_max_age, due_soon, own_times)
    active = [k for k in user["keys"] if k["status"] == "Active" and k["age_days"] is not None]
    stored = next((k for k in user["keys"] if k["current"]), None)
    if stored is not None and stored["age_days"] is not None:
        age = stored["age_days"]
    elif verified and verified.get("key_age_days") is not None:
        age = _coerce("float", verified.get("key_age_days"))
    elif active:
        age = max(k["age_days"] for k in active)
    else:
        age = None
    user["age_days"] = age
    user["age_class"] = age_class(age, user_max_age, due_soon)
    user["due"] = None if age is None else age >= user_max_age
    return user


def _count(summary: t.Dict[str, int], key: t.Any) -> None:
    if isinstance(key, str) and key in summary:
        summary[key] += 1


def _target_summary(users: t.Sequence[t.Mapping[str, t.Any]], ages: t.List[float],
                    check_mode: bool = False) -> t.Dict[str, int]:
    """A target's counts; the ages of its Active keys are appended to ``ages``."""
    tsum = {key: 0 for key in TARGET_SUMMARY_KEYS}
    tsum["users"] = len(users)
    for user in users:
        _count(tsum, user.get("action"))
        _count(tsum, user.get("status"))
        if user.get("drift"):
            tsum["drift"] += 1
        retirement_state = (user.get("retirement") or {}).get("state")
        if retirement_state in ("waiting", "in_use"):
            tsum["retirement_pending"] += 1
        elif retirement_state in (("retired", "ready") if check_mode else ("retired",)):
            tsum["retired"] += 1
        if user.get("action") == "failed" or user.get("status") in ("invalid", "missing", "error"):
            tsum["attention"] += 1
        for key in user.get("keys") or []:
            tsum["keys"] += 1
            if key.get("status") == "Active":
                tsum["active_keys"] += 1
                _count(tsum, key.get("age_class"))
                if key.get("age_days") is not None:
                    ages.append(key["age_days"])
    return tsum


def build_report(
    steps: t.Mapping[str, t.Any],
    kind: str = "rotation",
    name: t.Optional[str] = None,
    max_age_days: int = 90,
    due_soon_days: int = 14,
    check_mode: bool = False,
    generated_at: t.Optional[str] = None,
) -> t.Dict[str, t.Any]:
    """The report data of one run.

    ``steps`` maps step names (``verify_before``, ``rotate``, ``reconcile``,
    ``verify_after``, ``info``) to registered loop results over the targets
    (the same targets, in the same order, in every step).  Each loop item
    carries its target as the loop variable.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise ValueError(f"unknown report steps {sorted(unknown)}; known: {', '.join(STEPS)}")
    max_age_days = int(max_age_days)
    due_soon_days = int(due_soon_days)
    per_step = {step: _loop_items(steps.get(step)) for step in STEPS}
    count = max((len(items) for items in per_step.values()), default=0)
    targets: t.List[t.Dict[str, t.Any]] = []
    summary = {key: 0 for key in SUMMARY_KEYS}
    ages: t.List[float] = []
    accounts: t.Set[t.Tuple[t.Any, t.Any]] = set()
    for index in range(count):
        results = {step: (per_step[step][index] if index < len(per_step[step]) else None) for step in STEPS}
        target = next((_target_of(r) for r in results.values() if r and _target_of(r)), {})
        used = {step: r for step, r in results.items() if _used(r)}
        if not used and not target:
            continue
        region = target.get("region")
        partition = next((r.get("partition") for r in used.values() if r.get("partition")), None) or _partition_of(region)
        account_id = next((r.get("account_id") for r in used.values() if r.get("account_id")), None) or target.get("account_id")
        alias = next((r.get("account_alias") for r in used.values() if r.get("account_alias")), None)
        target_max_age = _coerce("int", target.get("max_age_days"))
        target_max_age = max_age_days if target_max_age is None else target_max_age
        assume_role = target.get("assume_role")
        errors = [e for e in (_error_of(r, step) for step, r in used.items()) if e]
        by_user = {step: _by_user(used.get(step)) for step in STEPS}
        names = _user_names(target.get("users"))
        for step in STEPS:
            for user_name in by_user[step]:
                if user_name not in names:
                    names.append(user_name)
        users = [_build_user(n, target, by_user, target_max_age, due_soon_days) for n in names]
        tsum = _target_summary(users, ages, check_mode)
        label = target.get("name") or f"{account_id or '?'} {region or ''}".strip()
        targets.append({
            "name": label,
            "account_id": account_id,
            "account_alias": alias,
            "partition": partition,
            "region": region,
            "role_arn": assume_role.get("role_arn") if isinstance(assume_role, t.Mapping) else None,
            "max_age_days": target_max_age,
            "error": "; ".join(errors) if errors else None,
            "summary": tsum,
            "users": users,
        })
        accounts.add((account_id, partition))
        for key, value in tsum.items():
            summary[key] += value
        summary["errors"] += 1 if errors else 0
    summary["targets"] = len(targets)
    summary["accounts"] = len(accounts)
    report = {
        "format": FORMAT,
        "kind": kind,
        "name": name or kind,
        "title": TITLES[kind] + (" (plan, check mode)" if check_mode else ""),
        "generated_at": generated_at or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "check_mode": bool(check_mode),
        "policy": {"max_age_days": max_age_days, "due_soon_days": due_soon_days},
        "summary": summary,
        "age_buckets": age_buckets(ages, max_age_days, due_soon_days),
        "targets": targets,
    }
    report["headline"] = headline(report)
    report["problems"] = problems(targets)
    return sanitize_report(report)


def problems(targets: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """What makes the run fail: target errors and users whose rotation or repair failed."""
    found: t.List[str] = []
    same: t.Dict[str, t.List[str]] = {}  # one configuration mistake shared by many targets is told once
    for target in targets:
        if target.get("error"):
            same.setdefault(str(target.get("error")), []).append(str(target.get("name")))
    for target in targets:
        names = same.get(str(target.get("error")), []) if target.get("error") else []
        if names and names[0] == str(target.get("name")):
            found.append(f"{names[0]}: {target.get('error')}" if len(names) == 1
                         else f"{', '.join(names)} ({len(names)} targets): {target.get('error')}")
        for user in target.get("users") or []:
            if user.get("action") == "failed":
                found.append(f"{target.get('name')} / {user.get('user_name')}: {user.get('reason') or 'failed'}")
    return found


def headline(report: t.Mapping[str, t.Any]) -> str:
    """One line a person reads first: what the run did and what needs attention."""
    s = report.get("summary") or {}
    parts = [f"{s.get('targets', 0)} target(s) in {s.get('accounts', 0)} account(s)", f"{s.get('users', 0)} user(s)",
             f"{s.get('keys', 0)} key(s)"]
    kind = report.get("kind")
    if kind == "rotation":
        parts.append(f"{s.get('rotated', 0)} {'to rotate' if report.get('check_mode') else 'rotated'}")
        if s.get("retired") or s.get("retirement_pending"):
            parts.append(f"{s.get('retired', 0)} old key(s) {'to retire' if report.get('check_mode') else 'retired'}, "
                         f"{s.get('retirement_pending', 0)} pending retirement")
    elif kind == "reconciliation":
        parts.append(f"{s.get('reconciled', 0) + s.get('imported', 0)} "
                     f"{'to repair' if report.get('check_mode') else 'repaired'}")
    if kind != "discovery":
        parts.append(f"{s.get('valid', 0)} valid, {s.get('invalid', 0) + s.get('missing', 0)} not valid")
    parts.append(f"{s.get('overdue', 0)} overdue, {s.get('due_soon', 0)} due soon")
    problems = s.get("failed", 0) + s.get("errors", 0)
    if problems:
        parts.append(f"{s.get('failed', 0)} failed, {s.get('errors', 0)} target error(s)")
    return "; ".join(parts)


def ensure_report(data: t.Any, **build_kwargs: t.Any) -> t.Dict[str, t.Any]:
    """Report data from either built report data or the raw ``steps`` mapping."""
    if not isinstance(data, t.Mapping):
        raise TypeError(f"expected report data or a mapping of step results, got {type(data).__name__}")
    if data.get("format") == FORMAT:
        return sanitize_report(data)
    return build_report(data, **build_kwargs)


# -- the estate: many runs' reports as one -----------------------------------------------------------------------------
# When two reports hold the same user of the same target (overlapping AWX slices), the entry that did most wins.
_ACTION_WEIGHT = {"failed": 5, "rotated": 4, "reconciled": 4, "imported": 4, "swapped": 4}


def _user_weight(user: t.Mapping[str, t.Any]) -> int:
    return _ACTION_WEIGHT.get(str(user.get("action")), 1 if user.get("action") else 0)


def merge_reports(reports: t.Any, name: t.Optional[str] = None, generated_at: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """One estate report from the reports of many hosts (accounts) or runs (job slices).

    Targets are keyed by account, partition and region; a target in several reports keeps each user once,
    the entry that did most (failed, then changed, then anything else) winning.  Summary, age
    distribution, headline and problems are computed again over the merged targets."""
    if isinstance(reports, t.Mapping):
        reports = list(reports.values())
    if not isinstance(reports, (list, tuple)):
        raise TypeError(f"expected a list of reports, got {type(reports).__name__}")
    parts = [ensure_report(r) for r in reports if r]
    if not parts:
        raise ValueError("no report to merge: every host failed before its report was built, or none ran")
    kinds = sorted({str(p.get("kind")) for p in parts})
    if len(kinds) != 1:
        raise ValueError(f"cannot merge reports of different kinds: {', '.join(kinds)}")
    kind = kinds[0]
    merged: t.Dict[t.Tuple[t.Any, ...], t.Dict[str, t.Any]] = {}
    for part in parts:
        for target in part.get("targets") or []:
            key = (target.get("account_id"), target.get("partition"), target.get("region"))
            if key not in merged:
                merged[key] = dict(target, users=list(target.get("users") or []))
                continue
            entry = merged[key]
            users = {u.get("user_name"): u for u in entry["users"]}
            for user in target.get("users") or []:
                old = users.get(user.get("user_name"))
                if old is None or _user_weight(user) > _user_weight(old):
                    users[user.get("user_name")] = user
            entry["users"] = list(users.values())
            errors = [e for e in (entry.get("error"), target.get("error")) if e]
            entry["error"] = "; ".join(dict.fromkeys(errors)) if errors else None
    targets = sorted(merged.values(), key=lambda tg: (str(tg.get("name")), str(tg.get("account_id"))))
    summary = {key: 0 for key in SUMMARY_KEYS}
    ages: t.List[float] = []
    for target in targets:
        target["summary"] = _target_summary(target["users"], ages)
        for key, value in target["summary"].items():
            summary[key] += value
        summary["errors"] += 1 if target.get("error") else 0
    summary["targets"] = len(targets)
    summary["accounts"] = len({(tg.get("account_id"), tg.get("partition")) for tg in targets})
    policy = dict(parts[0].get("policy") or {})
    check_mode = any(p.get("check_mode") for p in parts)
    report = {
        "format": FORMAT,
        "kind": kind,
        "name": name or f"estate-{kind}",
        "title": "Estate " + TITLES[kind][0].lower() + TITLES[kind][1:] + (" (plan, check mode)" if check_mode else ""),
        "generated_at": generated_at or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "check_mode": check_mode,
        "policy": policy,
        "summary": summary,
        "age_buckets": age_buckets(ages, int(policy.get("max_age_days") or 90), int(policy.get("due_soon_days") or 14)),
        "targets": targets,
    }
    report["headline"] = headline(report)
    report["problems"] = problems(targets)
    return sanitize_report(report)


# -- rendering --------------------------------------------------------------------------------------------------------
def render_json(report: t.Mapping[str, t.Any]) -> str:
    """The report as stable, indented JSON (sanitized again on the way out)."""
    return json.dumps(sanitize_report(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _e(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _days(value: t.Optional[float]) -> str:
    return "" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


def _when(value: t.Optional[str]) -> str:
    if not value:
        return ""
    return value.replace("T", " ")[:16] + (" UTC" if len(value) >= 16 else "")


def _age_cell(age: t.Optional[float], cls: t.Optional[str]) -> str:
    if age is None:
        return '<span class="muted">n/a</span>'
    css = (cls or "ok").replace("_", "-")
    return (f'<span class="age age-{_e(css)}" title="{_e(CLASS_LABELS.get(cls or "ok", ""))}">'
            f'{_e(_days(age))} d<small>{_e(CLASS_LABELS.get(cls or "ok", ""))}</small></span>')


def _last_used_cell(last_used: t.Optional[t.Mapping[str, t.Any]]) -> str:
    if not last_used:
        return '<span class="muted">n/a</span>'
    if not last_used.get("date"):
        return '<span class="muted">never</span>'
    stamp = _when(last_used.get("date"))
    details = [v for v in (last_used.get("service"), last_used.get("region")) if v]
    if stamp.endswith(" UTC"):
        stamp = stamp[:-4]
        details.insert(0, "UTC")
    where = " &middot; ".join(_e(v) for v in details)
    own = ('<br><small class="muted own-use">keyturn\'s own verification; no use by others since</small>'
           if last_used.get("by_keyturn") else "")
    return f'<span class="when">{_e(stamp)}</span>' + (f'<br><small class="muted">{where}</small>' if where else "") + own


ACTION_CLASSES = {"rotated": "good", "reconciled": "good", "imported": "good", "skipped": "neutral", "failed": "bad"}
STATUS_CLASSES = {"valid": "good", "invalid": "bad", "missing": "warn", "error": "bad"}


def _badge(value: t.Optional[str], classes: t.Mapping[str, str], plan: bool = False) -> str:
    if not value:
        return '<span class="muted">&ndash;</span>'
    label = f"would be {value}" if plan and value in ("rotated", "reconciled", "imported") else value
    return f'<span class="badge badge-{_e(classes.get(value, "neutral"))}">{_e(label)}</span>'


def _chart(buckets: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    width, height, pad_left, pad_bottom, pad_top = 440, 150, 34, 26, 18
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = max([int(b.get("count") or 0) for b in buckets] + [1])
    n = max(len(buckets), 1)
    slot = plot_w / n
    bar_w = slot * 0.62
    parts = [f'<svg class="chart" role="img" aria-labelledby="chart-title" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             '<title id="chart-title">Active access keys by age in days</title>',
             f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 10}" y2="{pad_top + plot_h}" class="axis"/>']
    for tick in sorted({0, top // 2, top}):
        y = pad_top + plot_h - plot_h * tick / top
        parts.append(f'<text x="{pad_left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick}</text>')
        parts.append(f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" class="grid"/>')
    for i, bucket in enumerate(buckets):
        value = int(bucket.get("count") or 0)
        bar_h = plot_h * value / top
        x = pad_left + i * slot + (slot - bar_w) / 2
        y = pad_top + plot_h - bar_h
        cls = str(bucket.get("age_class") or "ok").replace("_", "-")
        label = _e(bucket.get("label"))
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(bar_h, 0):.1f}" rx="3" '
                     f'class="bar bar-{_e(cls)}"><title>{label} days: {value} key(s)</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" class="count" text-anchor="middle">{value}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{pad_top + plot_h + 18}" class="tick" '
                     f'text-anchor="middle">{label} d</text>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """
:root{--ok:#1a7f37;--ok-bg:#e6f4ea;--soon:#9a6700;--soon-bg:#fff4d5;--over:#c62828;--over-bg:#fde8e8;
--ink:#1f2328;--muted:#656d76;--line:#d8dee4;--card:#fff;--bg:#f5f7fa;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#14233c;color:#fff;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#c5d1e3;font-size:13px}
header .headline{margin-top:8px;font-size:14px;color:#fff}
.plan{background:#fff4d5;color:#6b4b00;border-bottom:1px solid #e9cf7a;padding:10px 32px;font-weight:600}
main{padding:20px 32px 40px;max-width:1400px}
.overview{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.tiles{display:grid;grid-template-columns:repeat(4,minmax(118px,1fr));gap:10px;flex:1 1 480px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.tile .n{font-size:24px;font-weight:650}
.tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile.bad .n{color:var(--over)}.tile.warn .n{color:var(--soon)}.tile.good .n{color:var(--ok)}
.chartbox{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;flex:0 0 auto}
.chartbox h2{font-size:13px;margin:0 0 4px;color:var(--muted);font-weight:600;text-transform:uppercase;
letter-spacing:.04em}
.chart .axis{stroke:#8c959f}.chart .grid{stroke:#eef1f4}
.chart .tick{font-size:11px;fill:var(--muted)}.chart .count{font-size:12px;font-weight:600;fill:var(--ink)}
.bar-ok{fill:var(--ok)}.bar-due-soon{fill:#d4a72c}.bar-overdue{fill:var(--over)}
.legend{font-size:12px;color:var(--muted)}
.legend span{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
section.target{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-top:20px;overflow:hidden}
section.target>h2{margin:0;padding:12px 16px;font-size:16px;border-bottom:1px solid var(--line);background:#fafbfc}
section.target>h2 .sub{font-weight:400;color:var(--muted);font-size:13px;margin-left:8px}
.pill{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;font-size:12px;
color:var(--muted);margin-left:6px;font-weight:400}
.error{background:var(--over-bg);color:var(--over);padding:10px 16px;border-bottom:1px solid #f3c1c1}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em;
padding:8px 9px;border-bottom:1px solid var(--line)}
td{padding:7px 9px;border-bottom:1px solid #eef1f4;vertical-align:top}
tr.user-first td{border-top:1px solid var(--line)}
td.user{font-weight:600}
td.user{white-space:nowrap}
td.user small{display:block;font-weight:400;color:var(--muted)}
td.key,.when{white-space:nowrap}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
tr.inactive td.key code{color:var(--muted);text-decoration:line-through}
.star{color:var(--accent);font-size:11px;margin-left:4px}
.age{display:inline-block;min-width:70px;border-radius:4px;padding:1px 7px;font-weight:600;white-space:nowrap}
tr.inactive .age{opacity:.6}
.age small{font-weight:500;margin-left:6px;font-size:11px}
.age-ok{background:var(--ok-bg);color:var(--ok)}
.age-due-soon{background:var(--soon-bg);color:var(--soon)}
.age-overdue{background:var(--over-bg);color:var(--over)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;white-space:nowrap}
.badge-good{background:var(--ok-bg);color:var(--ok)}.badge-bad{background:var(--over-bg);color:var(--over)}
.badge-warn{background:var(--soon-bg);color:var(--soon)}.badge-neutral{background:#eef1f4;color:var(--muted)}
.muted{color:var(--muted)}
.reason{color:var(--muted);font-size:12.5px;min-width:200px;overflow-wrap:anywhere}
.drift{color:var(--soon);font-size:12px;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
footer{color:var(--muted);font-size:12px;padding:0 32px 30px}
""".strip()


RETIREMENT_STATES = {"waiting": "pending retirement (grace period)", "in_use": "pending retirement (still in use)",
                     "ready": "to retire", "retired": "retired"}


def _tile(number: t.Any, label: str, tone: str = "") -> str:
    return f'<div class="tile {_e(tone)}"><div class="n">{_e(number)}</div><div class="l">{_e(label)}</div></div>'


def _user_rows(user: t.Mapping[str, t.Any], kind: str, plan: bool, reached: bool = True) -> t.List[str]:
    keys = list(user.get("keys") or [])
    span = max(len(keys), 1)
    notes: t.List[str] = []
    if user.get("reason"):
        notes.append(f'<div class="reason">{_e(user.get("reason"))}</div>')
    if plan and user.get("plan") and user.get("action") not in (None, "skipped"):
        notes.append('<div class="reason">plan: ' + "; ".join(_e(p) for p in user.get("plan") or []) + "</div>")
    if user.get("status") not in (None, "valid") and user.get("verify_reason"):
        notes.append(f'<div class="reason">{_e(user.get("verify_reason"))}</div>')
    for drift in user.get("drift") or []:
        notes.append(f'<div class="drift">drift: {_e(drift)}</div>')
    retirement = user.get("retirement") or {}
    if retirement.get("state"):
        state = RETIREMENT_STATES.get(str(retirement["state"]), str(retirement["state"]))
        notes.append(f'<div class="drift">old key {_e(retirement.get("key_id"))}: {_e(state)} &ndash; '
                     f'{_e(retirement.get("reason"))}</div>')
    store_name = user.get("store_name")
    custom = store_name and not str(store_name).endswith("/" + str(user.get("user_name")))
    store = f'<small>store: {_e(store_name)}</small>' if custom else ""
    head = (f'<td class="user" rowspan="{span}">{_e(user.get("user_name"))}{store}</td>')
    tail = ""
    if kind != "discovery":
        tail += f'<td rowspan="{span}">{_badge(user.get("status"), STATUS_CLASSES)}</td>'
    if kind in ("rotation", "reconciliation"):
        tail += f'<td rowspan="{span}">{_badge(user.get("action"), ACTION_CLASSES, plan)}</td>'
    tail += f'<td rowspan="{span}">{"".join(notes)}</td>'
    if not keys:
        empty = "no access keys" if reached else "not reached (see the error above)"
        return [f'<tr class="user-first">{head}<td colspan="5" class="muted">{empty}</td>{tail}</tr>']
    rows = []
    for index, key in enumerate(keys):
        cls = str(key.get("age_class") or "ok").replace("_", "-")
        status = str(key.get("status") or "")
        classes = ["key", cls, "inactive" if status and status != "Active" else "active"]
        if index == 0:
            classes.append("user-first")
        managed = key.get("managed")
        managed_text = "&ndash;" if managed is None else ("managed" if managed else '<span class="badge badge-warn">unmanaged</span>')
        star = '<span class="star" title="the key in the store">&#9733; stored</span>' if key.get("current") else ""
        cells = (f'<td class="key"><code>{_e(key.get("access_key_id"))}</code>{star}</td>'
                 f'<td>{_e(status)}</td>'
                 f'<td>{_age_cell(key.get("age_days"), key.get("age_class"))}</td>'
                 f'<td>{_last_used_cell(key.get("last_used"))}</td>'
                 f'<td>{managed_text}</td>')
        rows.append(f'<tr class="{_e(" ".join(classes))}">' + (head if index == 0 else "") + cells
                    + (tail if index == 0 else "") + "</tr>")
    return rows


def render_html(report: t.Mapping[str, t.Any]) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched); every value escaped."""
    data = sanitize_report(report)
    kind = str(data.get("kind") or "rotation")
    plan = bool(data.get("check_mode"))
    summary = data.get("summary") or {}
    policy = data.get("policy") or {}
    title = data.get("title") or TITLES.get(kind, "Access key report")
    out: t.List[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(title)} &middot; {_e(data.get('name'))}</title>",
        f"<style>{CSS}</style></head><body>",
        f'<header><h1>{_e(title)}</h1><div class="meta">{_e(data.get("name"))} &middot; generated '
        f'{_e(_when(data.get("generated_at")))} &middot; policy: rotate at {_e(policy.get("max_age_days"))} days, '
        f'due soon within {_e(policy.get("due_soon_days"))} days</div>'
        f'<div class="headline">{_e(data.get("headline"))}</div></header>',
    ]
    if plan:
        out.append('<div class="plan">Plan only (check mode): nothing was changed; actions show what a real run would do.'
                   "</div>")
    tiles = [_tile(summary.get("accounts", 0), "accounts"), _tile(summary.get("users", 0), "users"),
             _tile(summary.get("active_keys", 0), "active keys")]
    if kind == "rotation":
        tiles.append(_tile(summary.get("rotated", 0), "to rotate" if plan else "rotated", "good"))
    elif kind == "reconciliation":
        tiles.append(_tile(summary.get("reconciled", 0) + summary.get("imported", 0),
                           "to repair" if plan else "repaired", "good"))
    else:
        tiles.append(_tile(summary.get("keys", 0), "keys (all)"))
    tiles += [_tile(summary.get("ok", 0), "ok", "good"), _tile(summary.get("due_soon", 0), "due soon", "warn"),
              _tile(summary.get("overdue", 0), "overdue", "bad" if summary.get("overdue") else "")]
    if kind == "discovery":
        tiles.append(_tile(summary.get("keys", 0) - summary.get("active_keys", 0), "inactive keys"))
    else:
        attention = summary.get("attention", 0) + summary.get("errors", 0)
        tiles.append(_tile(attention, "need attention", "bad" if attention else ""))
    out.append('<main><div class="overview"><div class="tiles">' + "".join(tiles) + "</div>")
    out.append('<div class="chartbox"><h2>Active keys by age (days)</h2>' + _chart(data.get("age_buckets") or [])
               + '<div class="legend"><span style="background:var(--ok)"></span>ok'
               '<span style="background:#d4a72c"></span>due soon<span style="background:var(--over)"></span>overdue'
               "</div></div></div>")
    headers = ["User", "Access key", "Status", "Age", "Last used", "Store"]
    if kind != "discovery":
        headers.append("Verification")
    if kind in ("rotation", "reconciliation"):
        headers.append("Action" if not plan else "Planned action")
    headers.append("Details")
    for target in data.get("targets") or []:
        sub = " ".join(f'<span class="pill">{_e(v)}</span>' for v in (
            target.get("account_alias"), target.get("account_id"), target.get("partition"), target.get("region")) if v)
        role = f'<span class="pill">via {_e(target.get("role_arn"))}</span>' if target.get("role_arn") else ""
        out.append(f'<section class="target"><h2>{_e(target.get("name"))}{sub}{role}'
                   f'<span class="sub">max age {_e(target.get("max_age_days"))} days</span></h2>')
        if target.get("error"):
            out.append(f'<div class="error">{_e(target.get("error"))}</div>')
        out.append('<div class="scroll"><table><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in headers)
                   + "</tr></thead><tbody>")
        users = target.get("users") or []
        for user in users:
            out.extend(_user_rows(user, kind, plan, reached=not target.get("error")))
        if not users:
            out.append(f'<tr><td colspan="{len(headers)}" class="muted">no users</td></tr>')
        out.append("</tbody></table></div></section>")
    if not data.get("targets"):
        out.append('<p class="muted">No targets.</p>')
    out.append("</main>")
    out.append(f'<footer>{_e(FORMAT)} &middot; key ids only, never secrets &middot; ages at the time of the run &middot; '
               "IAM's last-used data can lag by up to about four hours, and IAM keeps only a key's latest use"
               "</footer></body></html>")
    return "\n".join(out) + "\n"
