"""``gridmap supervise …``: the 督办 scan, the webhook deliverer, the 督办 list, notifications
and the unit/post indicators. Thin callers of :mod:`gridmap.supervision`.

Periodic runs: ``gridmap supervise scan --every 60`` and ``gridmap supervise deliver
--every 15`` loop until interrupted; or a cron line / systemd timer runs them once per
period (docs/supervision.md)::

    * * * * *  gridmap supervise scan && gridmap supervise deliver
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.dispatch import levels
from gridmap.errors import ValidationError
from gridmap.incidents.indicators import export
from gridmap.reference.workcal import LOCAL_TZ
from gridmap.supervision import access, board, indicators, notify, posts, scan, webhook
from gridmap.supervision.params import PostLimits, ScanParams, WebhookParams

USER_HELP = "Act for this account: only what it may see (default: everything)."


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("supervise.not_a_date", params={"name": name, "value": value}
                              ) from exc
    return d if d.tzinfo else d.replace(tzinfo=LOCAL_TZ)


def _viewer(conn: Connection, username: str | None) -> access.Viewer:
    return access.ALL if username is None else access.viewer_for(
        conn, users.by_username(conn, username))


def _repeat(every: float | None, once: Callable[[], None]) -> None:
    """Run ``once``; with ``every`` again every that many seconds until interrupted."""
    if every is not None and every <= 0:
        raise ValidationError("supervise.bad_every", params={"value": every})
    while True:
        started = time.monotonic()
        once()
        if every is None:
            return
        try:
            time.sleep(max(0.0, every - (time.monotonic() - started)))
        except KeyboardInterrupt:
            return


@main.group("supervise")
def supervise_group() -> None:
    """督办: supervision scan, webhook deliveries, 督办 list, notifications, indicators."""


@supervise_group.command("scan")
@click.option("--at", "at", help="Scan as of this instant (ISO; default now).")
@click.option("--every", type=float, help="Repeat every SECONDS until interrupted.")
@click.option("--raise-level", is_flag=True,
              help="Also raise the handling level of newly escalated cases (dispatch engine).")
@pass_app
@report_errors
def scan_cmd(app: AppContext, at: str | None, every: float | None, raise_level: bool) -> None:
    """Light the cases near or past their limit, remind their units, escalate red cases."""
    params = ScanParams.from_settings(app.settings)
    fixed = _when(at, "--at")

    def once() -> None:
        def raise_overdue(conn: Connection, ids: list[int], now: dt.datetime) -> Any:
            return levels.raise_overdue(conn, now)

        with app.transaction() as conn:
            out = scan.scan(conn, fixed, params,
                            on_escalated=raise_overdue if raise_level else None)
        say("supervise.cli.scanned", out)

    _repeat(every, once)


@supervise_group.command("deliver")
@click.option("--every", type=float, help="Repeat every SECONDS until interrupted.")
@click.option("--batch", type=int, default=100, show_default=True)
@pass_app
@report_errors
def deliver_cmd(app: AppContext, every: float | None, batch: int) -> None:
    """Send the queued unit webhooks (signed, retried with backoff)."""
    params = WebhookParams.from_settings(app.settings, batch=batch)

    def once() -> None:
        now = dt.datetime.now(dt.UTC)
        with app.transaction() as conn:
            leased = webhook.claim(conn, now, params)
        outcomes = webhook.send(leased, now, params)
        with app.transaction() as conn:
            out = webhook.record(conn, outcomes, dt.datetime.now(dt.UTC), params)
            out.update({f"queue_{k}": v for k, v in webhook.queue_status(conn, params).items()})
        say("supervise.cli.delivered", out)

    _repeat(every, once)


def _unit_id(conn: Connection, code: str | None) -> int | None:
    return None if code is None else board.unit_id(conn, code)


def _street_id(conn: Connection, code: str | None) -> int | None:
    return None if code is None else board.street_id(conn, code)


@supervise_group.command("board")
@click.option("--street", "street_code", help="Street code: that street's 督办 list.")
@click.option("--unit", "unit_code", help="Unit code: its cases and those escalated to it.")
@click.option("--light", type=click.Choice(board.LIGHTS))
@click.option("--user", "username", help=USER_HELP)
@click.option("--page", type=int, default=1, show_default=True)
@pass_app
@report_errors
def board_cmd(app: AppContext, street_code: str | None, unit_code: str | None,
              light: str | None, username: str | None, page: int) -> None:
    """The 督办 list: red first, then the nearest deadline."""
    with app.engine.connect() as conn:
        res = board.list_board(conn, _viewer(conn, username), street_id=_street_id(
            conn, street_code), unit_id=_unit_id(conn, unit_code), light=light, page=page)
    say("supervise.cli.board", {**res["counts"], "total": res["total"]})
    cols = ("incident_id", "case_no", "light", "state", "unit_code", "deadline",
            "reminders", "escalated_to_code")
    click.echo("\t".join(cols))
    for r in res["items"]:
        click.echo("\t".join("-" if r[k] is None else str(r[k]) for k in cols))


@supervise_group.command("notifications")
@click.option("--user", "username", required=True)
@click.option("--unread", is_flag=True)
@click.option("--mark-read", "mark", multiple=True, type=int, help="Mark these ids read.")
@click.option("--mark-all-read", is_flag=True)
@pass_app
@report_errors
def notifications_cmd(app: AppContext, username: str, unread: bool, mark: tuple[int, ...],
                      mark_all_read: bool) -> None:
    """A user's notifications (their own and their units'), or mark them read."""
    with app.transaction() as conn:
        user = users.by_username(conn, username)
        if mark or mark_all_read:
            n = notify.mark_read(conn, user.id, list(mark) if mark else None)
            say("supervise.cli.marked", {"n": n})
            return
        page = notify.list_for_user(conn, user.id, unread_only=unread)
        say("supervise.cli.unread", {"n": notify.unread_count(conn, user.id)})
    for r in page["items"]:
        click.echo("\t".join(str(x) for x in (
            r["id"], r["created_at"].isoformat(), "read" if r["read_at"] else "new",
            r["unit_code"] or "-", r["case_no"] or "-", r["kind"],
            json.dumps(r["params"] or {}, ensure_ascii=False))))


@supervise_group.command("indicators")
@click.argument("table", type=click.Choice(["units", "posts", "hotline", "levels"]))
@click.option("--from", "start", required=True, help="Period start (ISO date/time).")
@click.option("--to", "end", required=True, help="Period end, exclusive.")
@click.option("--post", type=click.Choice(posts.POSTS), default="inspector", show_default=True)
@click.option("--by", type=click.Choice(["unit", "street"]), default="unit", show_default=True)
@click.option("--area", type=click.Choice(["grid", "community", "street"]), default="community",
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Write CSV or XLSX.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def indicators_cmd(app: AppContext, table: str, start: str, end: str, post: str, by: str,
                   area: str, out: Path | None, lang: str, username: str | None) -> None:
    """部门/岗位 indicators, hotline 三率, or the 小事不出网格/大事不出社区 rate."""
    s, e = _when(start, "--from"), _when(end, "--to")
    assert s is not None and e is not None
    with app.engine.connect() as conn:
        viewer = _viewer(conn, username)
        if table == "units":
            rows, fields = indicators.unit_indicators(conn, viewer, s, e), indicators.UNIT_FIELDS
        elif table == "posts":
            rows = posts.post_indicators(conn, viewer, post, s, e,
                                         limits=PostLimits.from_settings(app.settings))
            fields = posts.post_fields(post)
        elif table == "hotline":
            rows, fields = indicators.hotline_rates(conn, viewer, s, e, by=by), \
                indicators.HOTLINE_FIELDS
        else:
            rows, fields = indicators.level_rates(conn, viewer, s, e, area=area), \
                indicators.LEVEL_FIELDS
    if out:
        export(rows, out, lang=lang, fields=fields)
        say("supervise.cli.wrote_rows", {"n": len(rows), "path": str(out)})
        return
    idx = 0 if lang == "zh" else 1
    click.echo("\t".join(fields[k][idx] for k in fields))
    for r in rows:
        click.echo("\t".join("-" if r[k] is None else str(r[k]) for k in fields))
