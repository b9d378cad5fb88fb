"""The post catalogue (岗位) and what each post may do, as data.

Posts: 网格员 ``grid_worker`` and 监督员 ``inspector`` (find, verify and check on site),
受理员 ``acceptor`` (accepts and files), 派遣员 ``dispatcher`` (dispatches), 值班长 ``shift_lead``
(files, dispatches, approves, closes), 处置人员 ``handler`` (handles in a unit), 领导 ``leader``
(reads, supervises). The stages follow cases.md §3 (七个环节) and §4 (回退/延期/挂账).

:func:`may` answers whether any of some posts allows an action; ``admin_org`` (managing units,
posts and assignments) belongs to no post: only the ``admin`` role has it. A deployment may
pass its own :data:`PERMISSIONS`-shaped mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gridmap.errors import GridmapError

POSTS: tuple[str, ...] = ("grid_worker", "inspector", "acceptor", "dispatcher", "shift_lead",
                          "handler", "leader")

ACTIONS: tuple[str, ...] = (
    "report", "verify", "file", "void", "dispatch", "redispatch", "accept", "handle", "return",
    "extend", "approve_extension", "park", "check", "close", "evaluate", "read", "supervise",
    "admin_org")
"""report 上报, verify 核实, file 立案, void 作废, dispatch 派遣, redispatch 改派, accept 接单,
handle 处置, return 回退, extend 申请延期, approve_extension 批准延期, park 挂账, check 核查,
close 结案, evaluate 评价, read 查看, supervise 督办, admin_org 管理单位与人员."""


@dataclass(frozen=True)
class PostInfo:
    """A post's names (zh, en) and the spellings a spreadsheet may use."""

    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        """The name in ``lang``."""
        return self.zh if lang == "zh" else self.en


CATALOGUE: tuple[PostInfo, ...] = (
    PostInfo("grid_worker", "网格员", "grid worker", ("网格管理员", "网格长")),
    PostInfo("inspector", "监督员", "inspector", ("信息采集员", "巡查员")),
    PostInfo("acceptor", "受理员", "acceptor", ("坐席员", "接线员")),
    PostInfo("dispatcher", "派遣员", "dispatcher", ("派单员",)),
    PostInfo("shift_lead", "值班长", "shift lead", ("值班主任",)),
    PostInfo("handler", "处置人员", "handler", ("处置员", "处置")),
    PostInfo("leader", "领导", "leader", ("负责人",)),
)

PERMISSIONS: Mapping[str, frozenset[str]] = {
    "grid_worker": frozenset({"report", "verify", "check", "read"}),
    "inspector": frozenset({"report", "verify", "check", "read"}),
    "acceptor": frozenset({"verify", "file", "void", "close", "evaluate", "read"}),
    "dispatcher": frozenset({"dispatch", "redispatch", "park", "read"}),
    "shift_lead": frozenset({"verify", "file", "void", "dispatch", "redispatch",
                             "approve_extension", "park", "close", "evaluate", "read",
                             "supervise"}),
    "handler": frozenset({"accept", "handle", "return", "extend", "read"}),
    "leader": frozenset({"read", "supervise"}),
}


def post_info(name: str) -> PostInfo | None:
    """The post with this code, Chinese or English name or alias; ``None`` if unknown."""
    key = name.strip()
    for p in CATALOGUE:
        if key in (p.code, p.zh, p.en) or key in p.aliases:
            return p
    return None


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise GridmapError("org.unknown_action", {"action": action, "actions": ACTIONS})


def may(posts: Iterable[str], action: str,
        permissions: Mapping[str, frozenset[str]] = PERMISSIONS) -> bool:
    """Whether any of ``posts`` allows ``action``.

    Raises
    ------
    GridmapError
        ``org.unknown_action`` for an action not in :data:`ACTIONS` (a typo must not
        silently deny, nor allow).
    """
    _check_action(action)
    return any(action in permissions.get(p, frozenset()) for p in posts)


def actions_of(posts: Iterable[str],
               permissions: Mapping[str, frozenset[str]] = PERMISSIONS) -> frozenset[str]:
    """Every action allowed by at least one of ``posts``."""
    out: set[str] = set()
    for p in posts:
        out |= permissions.get(p, frozenset())
    return frozenset(out)


def posts_allowing(action: str,
                   permissions: Mapping[str, frozenset[str]] = PERMISSIONS) -> tuple[str, ...]:
    """The posts that allow ``action`` (catalogue order)."""
    _check_action(action)
    return tuple(p for p in POSTS if action in permissions.get(p, frozenset()))
