"""Reporters' personal data: who may see a name and phone number, and how they are masked
for everyone else (reference/cases.md: 个人信息保护)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SUPERVISOR_ROLES: tuple[str, ...] = ("supervisor",)


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; shorter numbers keep only their last 2 digits."""
    if phone is None:
        return None
    p = str(phone).strip()
    if len(p) >= 11:
        return p[:3] + "*" * (len(p) - 7) + p[-4:]
    if len(p) <= 2:
        return "*" * len(p)
    return "*" * (len(p) - 2) + p[-2:]


def mask_name(name: str | None) -> str | None:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``: first character kept."""
    if name is None:
        return None
    n = str(name).strip()
    return n[:1] + "*" * max(len(n) - 1, 1) if n else n


def can_see_personal(role: str | None, street_ids: Iterable[int] | None,
                     community_ids: Iterable[int] | None, *, incident_street_id: int | None,
                     incident_community_id: int | None) -> bool:
    """Whether a viewer may see a reporter's name and phone unmasked.

    Only supervisors of the incident's street or community (or district-wide supervisors,
    passed as ``community_ids=None`` and ``street_ids=None``) see them; everyone else
    sees masked values.
    """
    if role not in SUPERVISOR_ROLES:
        return False
    if street_ids is None and community_ids is None:
        return True
    return (incident_street_id in set(street_ids or ())
            or incident_community_id in set(community_ids or ()))


def masked_for(row: Mapping[str, Any], *, role: str | None,
               street_ids: Iterable[int] | None = (),
               community_ids: Iterable[int] | None = ()) -> dict[str, Any]:
    """Copy of an incident row with reporter name/phone masked unless the viewer may see them."""
    out = dict(row)
    if not can_see_personal(role, street_ids, community_ids,
                            incident_street_id=row.get("street_id"),
                            incident_community_id=row.get("community_id")):
        out["reporter_name"] = mask_name(row.get("reporter_name"))
        out["reporter_phone"] = mask_phone(row.get("reporter_phone"))
    return out
