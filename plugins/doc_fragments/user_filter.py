# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The user_filter option of access_key_rotate, access_key_verify and access_key_info."""

    DOCUMENTATION = r"""
options:
  user_filter:
    description:
      - Select the IAM users of the account by path, tags and groups, instead of (or in addition to) listing them in
        I(users).
      - A user is selected when it is under I(path_prefix), has every tag of I(tags), is a member of at least one of
        I(groups) (when given), and is neither a member of any of I(exclude_groups) nor has any tag of I(exclude_tags)
        (an exemption group or tag, as in aws-samples' key rotation).
      - With both I(users) and I(user_filter) the task works on the union, each user once. Users listed in I(users)
        are always taken, with their per-user settings, even when the filter would exclude them (a listed user is
        explicit intent; the filter only adds users).
      - All IAM listings are paginated. The result's C(selection) shows the filter, the users it matched, those it
        excluded and why, also in check mode. A filter that matches nobody is not an error; the task does nothing.
      - An empty dict selects every user of the account.
    type: dict
    suboptions:
      path_prefix:
        description: IAM path prefix of the users (C(ListUsers) C(PathPrefix)).
        type: str
        default: /
      tags:
        description: Tags the user must all have; values are shell-style patterns (C(*) matches any value).
        type: dict
      groups:
        description: IAM groups; the user must be a member of at least one.
        type: list
        elements: str
      exclude_groups:
        description: IAM groups whose members are never selected.
        type: list
        elements: str
      exclude_tags:
        description: Tags (values are shell-style patterns) that leave a user out.
        type: dict
"""
