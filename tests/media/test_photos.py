"""Stored photos: on disk under the media root (relative paths), every problem of a batch
at once and nothing written, count limits, listing and reading back (thumbnails)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from gridmap.db import make_engine
from gridmap.errors import NotFound, ValidationError
from gridmap.media import add_photos, get_photo, list_photos, media_root, read_photo
from gridmap.media.images import MediaParams
from tests.fixtures.incident_world import build_world, new_incident
from tests.media.test_images import jpeg_with_gps


def _case(conn: Connection) -> int:
    build_world(conn)
    return int(new_incident(conn)["id"])  # type: ignore[call-overload]


def test_photos_are_stored_under_the_data_directory_without_exif(conn: Connection,
                                                                 tmp_path: Path) -> None:
    iid, root = _case(conn), media_root(tmp_path)
    rows = add_photos(conn, iid, [jpeg_with_gps(), jpeg_with_gps((600, 900))], stage="before",
                      uploaded_by="gw", params=MediaParams(), root=root)
    assert [r["stage"] for r in rows] == ["before", "before"] and "path" not in rows[0]
    stored = get_photo(conn, rows[0]["id"])
    assert not stored["path"].startswith("/") and (root / stored["path"]).is_file()
    data, mime = read_photo(root, stored)
    assert mime == "image/jpeg" and b"TestPhone" not in data
    thumb, tmime = read_photo(root, stored, thumb=True)
    assert tmime == "image/jpeg" and len(thumb) < len(data)
    after = add_photos(conn, iid, [jpeg_with_gps()], stage="after", uploaded_by="h",
                       params=MediaParams(), root=root)
    assert [r["stage"] for r in list_photos(conn, [iid])] == ["before", "before", "after"]
    assert after[0]["width"] == 1200


def test_a_bad_batch_reports_every_photo_and_writes_nothing(conn: Connection,
                                                            tmp_path: Path) -> None:
    iid, root = _case(conn), media_root(tmp_path)
    with pytest.raises(ValidationError) as err:
        add_photos(conn, iid, [jpeg_with_gps(), b"GIF89a...", b""], stage="before",
                   uploaded_by="gw", params=MediaParams(), root=root)
    assert [(p.code, p.row) for p in err.value.problems] == [
        ("media.bad_type", 2), ("media.empty", 3)]
    assert "第 2 张照片" in err.value.render("zh")
    assert list_photos(conn, [iid]) == [] and not root.exists()


@pytest.mark.parametrize("n", [0, 7])
def test_one_to_six_photos(conn: Connection, tmp_path: Path, n: int) -> None:
    iid = _case(conn)
    with pytest.raises(ValidationError) as err:
        add_photos(conn, iid, [jpeg_with_gps((64, 64))] * n, stage="after", uploaded_by="gw",
                   params=MediaParams(), root=media_root(tmp_path))
    assert err.value.problems[0].code == "media.photo_count"


def test_unknown_photo_and_missing_file(conn: Connection, tmp_path: Path) -> None:
    iid, root = _case(conn), media_root(tmp_path)
    with pytest.raises(NotFound):
        get_photo(conn, 999_999)
    row = add_photos(conn, iid, [jpeg_with_gps((64, 64))], stage="before", uploaded_by="gw",
                     params=MediaParams(), root=root)[0]
    stored = get_photo(conn, row["id"])
    (root / stored["path"]).unlink()
    with pytest.raises(NotFound) as err:
        read_photo(root, stored)
    assert err.value.code == "media.file_missing"


def test_files_go_when_the_transaction_rolls_back(conn: Connection, tmp_path: Path) -> None:
    """A transition that fails after its photos were stored leaves no file behind."""
    iid, root = _case(conn), media_root(tmp_path)
    rows = add_photos(conn, iid, [jpeg_with_gps(), jpeg_with_gps((640, 480))], stage="after",
                      uploaded_by="h", params=MediaParams(), root=root)
    files = [root / get_photo(conn, r["id"])["path"] for r in rows]
    assert all(f.is_file() for f in files)
    conn.get_transaction().rollback()  # type: ignore[union-attr]
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_files_stay_when_the_transaction_commits(fresh_db_url: str, tmp_path: Path) -> None:
    root = media_root(tmp_path)
    engine = make_engine(fresh_db_url, poolclass=NullPool)
    try:
        with engine.begin() as c:
            iid = _case(c)
            add_photos(c, iid, [jpeg_with_gps()], stage="before", uploaded_by="gw",
                       params=MediaParams(), root=root)
        with engine.begin() as c:   # a later rollback on the same pool must not touch them
            c.execute(text("SELECT 1"))
            c.get_transaction().rollback()  # type: ignore[union-attr]
        assert len([p for p in root.rglob("*") if p.is_file()]) == 2   # photo + thumbnail
    finally:
        engine.dispose()


def test_the_same_picture_sent_again_is_stored_once(conn: Connection, tmp_path: Path) -> None:
    """A phone that sends an after-photo again (its first answer lost) adds no second one."""
    iid, root = _case(conn), media_root(tmp_path)
    pic = jpeg_with_gps((640, 480))
    first = add_photos(conn, iid, [pic], stage="after", uploaded_by="gw",
                       params=MediaParams(), root=root)
    again = add_photos(conn, iid, [pic, jpeg_with_gps((300, 200))], stage="after",
                       uploaded_by="gw", params=MediaParams(), root=root)
    assert again[0]["id"] == first[0]["id"] and len(again) == 2
    assert len(list_photos(conn, [iid])) == 2
    assert len([p for p in root.rglob("*") if p.is_file()]) == 4    # two photos + thumbnails
    before = add_photos(conn, iid, [pic], stage="before", uploaded_by="gw",
                        params=MediaParams(), root=root)
    assert before[0]["id"] != first[0]["id"]                        # another stage: its own
