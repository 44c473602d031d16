# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report of keyturn.aws.rotate_access_keys and its estate form, built from the role's results.

Pure functions, no Ansible and no I/O:

* :func:`build_report` turns the registered results of the role's steps (loops
  over targets of ``access_key_verify``, ``access_key_rotate``,
  ``access_key_reconcile`` and ``access_key_info``) into the report data.
* :func:`merge_reports` makes one estate report of many hosts' or job slices' reports.
* :func:`ensure_report` takes either form of input the filters accept.

Every report leaves through :func:`_report_schema.sanitize_report` (the whitelist
schema) and is rendered by :mod:`_report_schema` (JSON) and :mod:`_report_html`
(the self-contained page).  A target's partition comes from botocore's partition
data (:mod:`_partitions`), never from the shape of a region name.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._partitions import partition_name_of
from ansible_collections.keyturn.aws.plugins.plugin_utils._report_schema import (
    FORMAT,
    KINDS,
    SUMMARY_KEYS,
    TARGET_SUMMARY_KEYS,
    TITLES,
    coerce,
    sanitize_report,
)

STEPS = ("verify_before", "rotate", "reconcile", "verify_after", "info")
DEFAULT_BUCKET_EDGES = (30, 60, 90)


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
def loop_items(value: t.Any) -> t.List[t.Mapping[str, t.Any]]:
    """The per-target results of a registered loop (or a list of results)."""
    if isinstance(value, t.Mapping):
        value = value.get("results", [])
    if not isinstance(value, (list, tuple)):
        return []
    return [item for item in value if isinstance(item, t.Mapping)]


def target_of(item: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any]:
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
            coerced = coerce("int", user.get("max_age_days"))
            return int(coerced) if coerced is not None else default
    return default


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
        age = coerce("float", key.get("age_days"))
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
        age = coerce("float", verified.get("key_age_days"))
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
    per_step = {step: loop_items(steps.get(step)) for step in STEPS}
    count = max((len(items) for items in per_step.values()), default=0)
    targets: t.List[t.Dict[str, t.Any]] = []
    summary = {key: 0 for key in SUMMARY_KEYS}
    ages: t.List[float] = []
    accounts: t.Set[t.Tuple[t.Any, t.Any]] = set()
    for index in range(count):
        results = {step: (per_step[step][index] if index < len(per_step[step]) else None) for step in STEPS}
        target = next((target_of(r) for r in results.values() if r and target_of(r)), {})
        used = {step: r for step, r in results.items() if _used(r)}
        if not used and not target:
            continue
        region = target.get("region")
        partition = next((r.get("partition") for r in used.values() if r.get("partition")), None) or partition_name_of(region)
        account_id = next((r.get("account_id") for r in used.values() if r.get("account_id")), None) or target.get("account_id")
        alias = next((r.get("account_alias") for r in used.values() if r.get("account_alias")), None)
        target_max_age = coerce("int", target.get("max_age_days"))
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
