"""Storing, listing and reading the photos of a case (``incident_photo`` + files).

Files live under ``<data_dir>/media/<yyyy>/<mm>/<random>.<ext>`` with a JPEG thumbnail next
to each (``<random>.thumb.jpg``); the table keeps the path relative to the media root, so
the directory can move. Every photo of a batch is checked before any is written; when the
insert fails, or the transaction it belongs to is later rolled back (a transition that
fails after the photos were stored, a lost connection), the files just written are removed
again, so no file outlives its row.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, Problem, ValidationError
from gridmap.media.images import EXTENSIONS, MediaParams, Prepared, prepare

STAGES: tuple[str, ...] = ("before", "after")


def media_root(data_dir: Path) -> Path:
    """The photo directory under the data directory (outside any web root)."""
    return Path(data_dir) / "media"


def check_count(n: int, params: MediaParams, minimum: int = 1) -> None:
    """Raise ``media.photo_count`` unless ``minimum <= n <= params.per_report``."""
    if not minimum <= n <= params.per_report:
        raise ValidationError("media.photos_invalid", [Problem(
            "media.photo_count", {"n": n, "min": minimum, "max": params.per_report},
            field="photos")])


def prepare_all(files: list[bytes], params: MediaParams) -> list[Prepared]:
    """Every photo checked and cleaned, or :class:`ValidationError` with every problem."""
    check_count(len(files), params, minimum=0)
    done = [prepare(data, params, n) for n, data in enumerate(files, start=1)]
    problems = [p for _, p in done if p is not None]
    if problems:
        raise ValidationError("media.photos_invalid", problems)
    return [p for p, _ in done if p is not None]


def _write(root: Path, photo: Prepared) -> str:
    now = dt.datetime.now(dt.UTC)
    rel = Path(f"{now:%Y}") / f"{now:%m}" / f"{secrets.token_hex(16)}.{EXTENSIONS[photo.mime]}"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    for target, data in ((path, photo.data), (_thumb_path(path), photo.thumb)):
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return rel.as_posix()


def _thumb_path(path: Path) -> Path:
    return path.with_name(path.name.split(".")[0] + ".thumb.jpg")


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise ValidationError("media.photos_invalid", [Problem(
            "media.bad_stage", {"value": str(stage)[:20], "choices": STAGES}, field="stage")])


def add_photos(conn: Connection, incident_id: int, files: list[bytes], *, stage: str,
               uploaded_by: str | None, params: MediaParams, root: Path
               ) -> list[dict[str, Any]]:
    """Check, clean and store 1 to ``params.per_report`` ``files`` as photos of a case;
    their rows (without the path).

    Raises
    ------
    ValidationError
        Every bad photo (type by content, size, pixels, count) or a bad ``stage``;
        nothing is stored.
    """
    _check_stage(stage)
    check_count(len(files), params)
    return store_prepared(conn, incident_id, prepare_all(files, params), stage=stage,
                          uploaded_by=uploaded_by, root=root)


def store_prepared(conn: Connection, incident_id: int, prepared: list[Prepared], *,
                   stage: str, uploaded_by: str | None, root: Path) -> list[dict[str, Any]]:
    """Write checked photos (:func:`prepare_all`) to disk and ``incident_photo``; their rows.
    A photo this case already has at this stage (same content) is not stored again: its
    existing row is returned (a repeat after a lost answer). Files already written are
    removed again when the insert fails or the transaction rolls back."""
    _check_stage(stage)
    kept = _already_stored(conn, incident_id, stage, [p.sha256 for p in prepared])
    prepared = [p for p in prepared if p.sha256 not in kept]
    if not prepared:
        return sorted(kept.values(), key=lambda r: r["id"])
    written: list[Path] = []
    try:
        rels = []
        for photo in prepared:
            rels.append(_write(root, photo))
            written.append(root / rels[-1])
        rows = conn.execute(sa.text(
            "INSERT INTO incident_photo (incident_id, stage, path, mime, bytes, width, height,"
            " sha256, uploaded_by) SELECT :i, :s, p, m, b, w, h, d, :u FROM unnest("
            " CAST(:p AS text[]), CAST(:m AS text[]), CAST(:b AS int[]), CAST(:w AS int[]),"
            " CAST(:h AS int[]), CAST(:d AS text[])) AS t(p, m, b, w, h, d)"
            " RETURNING id, incident_id, stage, mime, bytes, width, height, sha256,"
            " uploaded_by, uploaded_at"),
            {"i": incident_id, "s": stage, "u": uploaded_by, "p": rels,
             "m": [p.mime for p in prepared], "b": [len(p.data) for p in prepared],
             "w": [p.width for p in prepared], "h": [p.height for p in prepared],
             "d": [p.sha256 for p in prepared]}).mappings().all()
    except BaseException:
        _unlink(written)
        raise
    _remove_on_rollback(conn, written)
    return sorted([dict(r) for r in rows] + list(kept.values()), key=lambda r: r["id"])


def _already_stored(conn: Connection, incident_id: int, stage: str, digests: list[str]
                    ) -> dict[str, dict[str, Any]]:
    """Photos of this case and stage with the same content (a phone sending again after
    a lost answer): their rows by SHA-256, so the same picture is stored once."""
    rows = conn.execute(sa.text(
        "SELECT DISTINCT ON (sha256) id, incident_id, stage, mime, bytes, width, height,"
        " sha256, uploaded_by, uploaded_at FROM incident_photo WHERE incident_id = :i"
        " AND stage = :s AND sha256 = ANY(:d) ORDER BY sha256, id"),
        {"i": incident_id, "s": stage, "d": digests}).mappings()
    return {r["sha256"]: dict(r) for r in rows}


def _unlink(written: list[Path]) -> None:
    for path in written:
        path.unlink(missing_ok=True)
        _thumb_path(path).unlink(missing_ok=True)


def _remove_on_rollback(conn: Connection, written: list[Path]) -> None:
    """Remove ``written`` when ``conn``'s transaction rolls back; keep them on commit."""
    def rolled_back(_: Connection) -> None:
        _unlink(written)
        if sa.event.contains(conn, "commit", committed):
            sa.event.remove(conn, "commit", committed)

    def committed(_: Connection) -> None:
        if sa.event.contains(conn, "rollback", rolled_back):
            sa.event.remove(conn, "rollback", rolled_back)

    sa.event.listen(conn, "rollback", rolled_back, once=True)
    sa.event.listen(conn, "commit", committed, once=True)


def list_photos(conn: Connection, incident_ids: list[int]) -> list[dict[str, Any]]:
    """The photos of the cases ``incident_ids`` (before, then after; oldest first)."""
    rows = conn.execute(sa.text(
        "SELECT id, incident_id, stage, mime, bytes, width, height, sha256, uploaded_by,"
        " uploaded_at FROM incident_photo WHERE incident_id = ANY(:ids)"
        " ORDER BY incident_id, stage DESC, id"), {"ids": list(incident_ids)}).mappings()
    return [dict(r) for r in rows]


def get_photo(conn: Connection, photo_id: int) -> dict[str, Any]:
    """One photo's row with its relative ``path`` (``NotFound`` ``media.not_found``)."""
    row = conn.execute(sa.text(
        "SELECT id, incident_id, stage, mime, bytes, width, height, sha256, uploaded_by,"
        " uploaded_at, path FROM incident_photo WHERE id = :id"),
                       {"id": photo_id}).mappings().first()
    if row is None:
        raise NotFound("media.not_found", {"id": photo_id})
    return dict(row)


def read_photo(root: Path, row: dict[str, Any], *, thumb: bool = False) -> tuple[bytes, str]:
    """The bytes and MIME type of a stored photo (or its JPEG thumbnail)."""
    path = (root / row["path"]).resolve()
    if root.resolve() not in path.parents:
        raise NotFound("media.not_found", {"id": row["id"]})
    if thumb:
        path = _thumb_path(path)
    try:
        return path.read_bytes(), "image/jpeg" if thumb else str(row["mime"])
    except FileNotFoundError:
        raise NotFound("media.file_missing", {"id": row["id"]}) from None
