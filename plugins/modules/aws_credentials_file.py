#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_credentials_file
short_description: Write an access key into an AWS shared credentials file or an env file on a consumer host
version_added: 0.2.0
description:
  - Manages one profile of an AWS shared credentials file (C(~/.aws/credentials)), or the C(AWS_ACCESS_KEY_ID),
    C(AWS_SECRET_ACCESS_KEY) and C(AWS_SESSION_TOKEN) lines of an env file as systemd (C(EnvironmentFile=)) and
    docker (C(--env-file)) read them.
  - Runs on the target host and needs no AWS SDK there. Use it to deliver the credential that
    P(keyturn.aws.credential#lookup) reads from a keyturn.aws store, as the role R(keyturn.aws.deliver_access_keys,
    ansible_collections.keyturn.aws.docsite.deliver_access_keys) does.
  - Keeps the other profiles, the other variables, comments and the order of the file. A session token left over in
    the profile is removed when I(session_token) is not given (it would not work with the new key).
  - The file is replaced atomically (a temporary file in the same directory, renamed over it), with I(mode),
    I(owner) and I(group) applied before the rename, so the secret is never readable by others, not even briefly.
    A missing parent directory is created with mode C(0700).
  - Idempotent, C(changed=false) when the file already holds the same key ID, secret and token. Nothing is
    rewritten then.
  - Refuses a profile name or a value that would break the file or inject into it (newlines, brackets, spaces,
    quotes, C(#), C(;), C($), backslashes), with an error that never shows the secret.
  - Takes no AWS connection options and is not part of the C(keyturn.aws.aws) action group.
author:
  - keyturn.aws developers (@keyturn)
options:
  path:
    description:
      - The file to manage. C(~) is the home of the remote user the task runs as.
      - A symbolic link is followed; the file it points to is replaced.
    type: path
    default: ~/.aws/credentials
  profile:
    description:
      - Profile (section) of the credentials file, the bare name as in C([name]) (no C(profile ) prefix).
      - Letters, digits and the characters C(.), C(_), C(-), C(@), C(+), C(:) and C(/); it must start with a letter,
        a digit or C(_).
      - Must be left at C(default) with I(format=env), which has no profiles.
    type: str
    default: default
  access_key_id:
    description: Access key ID to write. Required with I(state=present).
    type: str
  secret_access_key:
    description:
      - Secret access key to write. Required with I(state=present). Never shown, not even in the diff.
      - Letters, digits and C(/ + = . _ -) only.
    type: str
  session_token:
    description:
      - Session token for temporary credentials. When omitted, a token already in the profile is removed.
      - Letters, digits and C(/ + = . _ -) only.
    type: str
  state:
    description:
      - C(present) writes the credential; C(absent) removes the profile (with I(format=ini)) or the C(AWS_*)
        credential lines (with I(format=env)). The file itself is kept.
    type: str
    choices: [present, absent]
    default: present
  format:
    description:
      - C(ini) is an AWS shared credentials file (C(aws_access_key_id = ...) under C([profile])).
      - C(env) is C(NAME=value) lines, as read by systemd's C(EnvironmentFile=) and C(docker --env-file); a leading
        C(export ) of an existing line is kept.
    type: str
    choices: [ini, env]
    default: ini
  owner:
    description: Owner of the file (name or UID). Default is the current owner, or the remote user for a new file.
    type: str
  group:
    description: Group of the file (name or GID). Default is the current group, or the remote user's for a new file.
    type: str
  mode:
    description:
      - Permissions of the file, in octal (quote it, for example C('0640')) or symbolic form as for M(ansible.builtin.file).
    type: raw
    default: '0600'
  backup:
    description: Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change and the key ID it would hold; writes nothing.
  diff_mode:
    support: full
    description: Shows the file before and after with every secret and token masked; a replaced secret shows as changed.
notes:
  - Applications that read the file on every call (or whose SDK re-reads the shared credentials file when it
    refreshes credentials) pick up the new key without a restart; others need a restart (the role
    R(keyturn.aws.deliver_access_keys,ansible_collections.keyturn.aws.docsite.deliver_access_keys) can restart
    services).
  - Use C(no_log) on tasks that pass a secret to this module from a variable, as for any secret.
seealso:
  - plugin: keyturn.aws.credential
    plugin_type: lookup
  - module: keyturn.aws.access_key_rotate
"""

EXAMPLES = r"""
- name: Give the billing service the current key of its IAM user
  keyturn.aws.aws_credentials_file:
    path: /home/billing/.aws/credentials
    profile: billing
    access_key_id: "{{ cred.access_key_id }}"
    secret_access_key: "{{ cred.secret_access_key }}"
    owner: billing
    group: billing
  vars:
    cred: "{{ lookup('keyturn.aws.credential', '123456789012/billing-app', store=keyturn_store) }}"
  no_log: true

- name: Env file for a systemd unit (EnvironmentFile=/etc/billing/aws.env)
  keyturn.aws.aws_credentials_file:
    path: /etc/billing/aws.env
    format: env
    access_key_id: "{{ cred.access_key_id }}"
    secret_access_key: "{{ cred.secret_access_key }}"
    owner: root
    group: billing
    mode: '0640'
  vars:
    cred: "{{ lookup('keyturn.aws.credential', '123456789012/billing-app', store=keyturn_store) }}"
  no_log: true

- name: Remove a profile that is no longer used
  keyturn.aws.aws_credentials_file:
    profile: old-app
    state: absent
"""

RETURN = r"""
path:
  description: The file managed (symbolic links resolved).
  returned: always
  type: str
  sample: /home/billing/.aws/credentials
profile:
  description: The profile managed (C(null) with I(format=env)).
  returned: always
  type: str
  sample: billing
format:
  description: The file format.
  returned: always
  type: str
  sample: ini
access_key_id:
  description: Access key ID the file holds after the task (C(null) when I(state=absent)). Never the secret.
  returned: always
  type: str
  sample: AKIAIOSFODNN7EXAMPLE
previous_access_key_id:
  description: Access key ID the file held before the task (C(null) when there was none).
  returned: always
  type: str
  sample: AKIAI44QH8DHBEXAMPLE
key_changed:
  description: Whether the key ID changed.
  returned: always
  type: bool
secret_changed:
  description: Whether the secret or token changed (for the same or a new key ID).
  returned: always
  type: bool
backup_file:
  description: Path of the backup copy.
  returned: when I(backup=true) and the file changed
  type: str
msg:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: str
"""

import errno
import grp
import os
import pwd
import re
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.keyturn.aws.plugins.module_utils._credentials_file import (
    CredentialsFileError,
    mask,
    plan,
    validate,
)

ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "path": {"type": "path", "default": "~/.aws/credentials"},
    "profile": {"type": "str", "default": "default"},
    "access_key_id": {"type": "str", "no_log": False},
    "secret_access_key": {"type": "str", "no_log": True},
    "session_token": {"type": "str", "no_log": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "format": {"type": "str", "default": "ini", "choices": ["ini", "env"]},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mode": {"type": "raw", "default": "0600"},
    "backup": {"type": "bool", "default": False},
}


def _octal_mode(mode: t.Any) -> t.Optional[int]:
    """The numeric mode, or None for a symbolic one (applied after the write by AnsibleModule)."""
    if isinstance(mode, int):
        return mode & 0o7777
    text = str(mode).strip()
    if re.match(r"^0?[0-7]{3,4}$", text):
        return int(text, 8) & 0o7777
    if re.match(r"^[ugoa]*[-+=][rwxXstugo]*(,[ugoa]*[-+=][rwxXstugo]*)*$", text):
        return None
    raise CredentialsFileError(f"mode {text!r} is neither an octal mode (for example '0600') nor a symbolic one "
                               "(for example 'u=rw,g=r,o=')")


def _numeric_id(name: t.Optional[str], option: str, kind: str, lookup: t.Callable[[str], int]) -> t.Optional[int]:
    """The uid or gid that ``name`` (a name or a number) stands for; None when the option is not set."""
    if name is None:
        return None
    if name.isdigit():
        return int(name)
    try:
        return lookup(name)
    except KeyError:
        raise CredentialsFileError(f"{option} {name} is not a {kind} on this host") from None


def _uid(owner: t.Optional[str]) -> t.Optional[int]:
    return _numeric_id(owner, "owner", "user", lambda name: pwd.getpwnam(name).pw_uid)


def _gid(group: t.Optional[str]) -> t.Optional[int]:
    return _numeric_id(group, "group", "group", lambda name: grp.getgrnam(name).gr_gid)


def _read(path: str) -> t.Tuple[str, bool]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), True
    except FileNotFoundError:
        return "", False
    except UnicodeDecodeError:
        raise CredentialsFileError(f"{path} is not a UTF-8 text file; refusing to rewrite it") from None
    except OSError as exc:
        raise CredentialsFileError(f"cannot read {path}: {exc.strerror}") from None


def _write(module: AnsibleModule, path: str, text: str, exists: bool, mode: t.Optional[int],
           uid: t.Optional[int], gid: t.Optional[int]) -> None:
    """Temp file in the target directory with the final mode and ownership, then an atomic rename."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, mode=0o700)
            if uid is not None or gid is not None:
                os.chown(directory, -1 if uid is None else uid, -1 if gid is None else gid)
        except OSError as exc:
            raise CredentialsFileError(f"cannot create the directory {directory}: {exc.strerror}") from None
    if exists:
        current = os.stat(path)
        uid = current.st_uid if uid is None else uid
        gid = current.st_gid if gid is None else gid
    try:
        fd, tmp = tempfile.mkstemp(prefix=".keyturn-", dir=directory)
    except OSError as exc:
        raise CredentialsFileError(f"cannot write {path}: the directory {directory} is not writable "
                                   f"({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if uid is not None or gid is not None:
            try:
                os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
            except OSError as exc:
                if exc.errno != errno.EPERM or module.params["owner"] or module.params["group"]:
                    raise CredentialsFileError(f"cannot give {path} the owner/group asked for: {exc.strerror}") from None
        if mode is not None:
            os.chmod(tmp, mode)
        module.atomic_move(tmp, path, keep_dest_attrs=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    os.umask(0o077)  # anything created here (temp file, directory, backup) is private to the owner
    params = module.params
    fmt = params["format"]
    path = os.path.realpath(params["path"])  # type path: ~ already expanded on this host
    result: t.Dict[str, t.Any] = {"changed": False, "path": path, "format": fmt,
                                  "profile": params["profile"] if fmt == "ini" else None}
    try:
        desired = validate(params)
        mode = _octal_mode(params["mode"])
        uid, gid = _uid(params["owner"]), _gid(params["group"])
        if os.path.isdir(path):
            raise CredentialsFileError(f"{path} is a directory; path must name the credentials file")
        before, exists = _read(path)
        change = plan(before, params, desired)
    except CredentialsFileError as exc:
        module.fail_json(msg=str(exc), **result)
        return
    result.update(access_key_id=change.key_id, previous_access_key_id=change.previous_key_id,
                  key_changed=change.key_id != change.previous_key_id if change.changed else False,
                  secret_changed=change.secret_changed)
    where = f"{path} [{params['profile']}]" if fmt == "ini" else path
    if module._diff and change.changed:
        result["diff"] = {"before_header": path, "after_header": path, "before": mask(before),
                          "after": mask(change.text, (desired.secret_access_key, desired.session_token))}
    if change.changed and (exists or params["state"] == "present"):
        if not module.check_mode:
            try:
                if params["backup"] and exists:
                    result["backup_file"] = module.backup_local(path)
                _write(module, path, change.text, exists, mode, uid, gid)
            except CredentialsFileError as exc:
                module.fail_json(msg=str(exc), **result)
            except Exception as exc:  # atomic_move failures; the message holds no file content
                module.fail_json(msg=f"cannot write {path}: {to_native(exc)}", **result)
        result["changed"] = True
    if os.path.exists(path):  # in check mode a file still to be created has nothing to compare
        try:
            changed = module.set_mode_if_different(path, params["mode"], result["changed"])
            changed = module.set_owner_if_different(path, params["owner"], changed)
            result["changed"] = module.set_group_if_different(path, params["group"], changed)
        except Exception as exc:  # the message names the path and the problem, never the content
            module.fail_json(msg=f"cannot set the owner, group or mode of {path}: {to_native(exc)}", **result)
    if params["state"] == "absent":
        verb = "would remove" if module.check_mode else "removed"
        result["msg"] = f"{verb} the credential of {where}" if change.changed else f"{where} holds no credential"
    elif not change.changed:
        result["msg"] = f"{where} already holds key {change.key_id}"
    else:
        verb = "would write" if module.check_mode else "wrote"
        was = f" (was {change.previous_key_id})" if change.previous_key_id and change.previous_key_id != change.key_id else ""
        result["msg"] = f"{verb} key {change.key_id} to {where}{was}"
    module.exit_json(**result)


if __name__ == "__main__":
    main()
