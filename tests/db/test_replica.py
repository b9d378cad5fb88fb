"""The read replica against a real streaming standby: ``pg_basebackup -R`` of the throwaway
test cluster, started on another port. Pages and read APIs read from it; a session that just
wrote reads from the primary (read-after-write); /health shows the lag."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import free_port, make_engine
from gridmap.db.cluster import LocalCluster, find_bindir
from gridmap.db.replica import primary_position, replica_status
from tests.fixtures.web import WEST, _seeded, create, make_app, new_client


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def replica(pg_cluster: LocalCluster) -> Iterator[tuple[str, str]]:
    """(primary URL, replica URL) of one database with the web fixtures' district."""
    from tests.conftest import TEMPLATE_DB

    primary_url = pg_cluster.ensure_database(f"gridmap_r{os.getpid()}", template=TEMPLATE_DB)
    _seeded(primary_url)
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-replica-"))
    os.chmod(tmp, 0o755)
    standby = LocalCluster(tmp, port=free_port(pg_cluster.port + 7))
    standby.socket_dir.mkdir(parents=True)
    shutil.copy(pg_cluster.password_file, standby.password_file)
    if os.geteuid() == 0:
        for p in (tmp, standby.socket_dir):
            shutil.chown(p, "postgres", "postgres")
    subprocess.run(_as_owner([
        str(find_bindir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(pg_cluster.port),
        "-U", "gridmap", "-D", str(standby.pgdata), "-R", "-X", "stream", "-c", "fast"]),
        check=True, env={**os.environ, "PGPASSWORD": pg_cluster.password()},
        capture_output=True)
    subprocess.run(_as_owner(["sh", "-c", f"printf \"port = {standby.port}\\n"
                              f"unix_socket_directories = '{standby.socket_dir}'\\n\" >> "
                              f"{standby.pgdata}/postgresql.auto.conf"]), check=True)
    try:
        standby.start()
        yield primary_url, standby.url(primary_url.rsplit("/", 1)[1])
    finally:
        standby.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _caught_up(app: Any) -> dict[str, Any]:
    client = app.test_client()
    deadline = time.monotonic() + 30
    while True:
        body = client.get("/health").get_json()
        if body["replica"]["lag_bytes"] == 0 or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_reads_hit_the_replica_and_a_writer_reads_its_own_write(
    replica: tuple[str, str],
) -> None:
    primary_url, replica_url = replica
    standby = make_engine(replica_url, poolclass=sa.pool.NullPool)
    with standby.connect() as conn:
        assert replica_status(conn)["in_recovery"]  # a real standby
    app = make_app(primary_url, read_database_url=replica_url, read_after_write_s=1.0)
    reader = new_client(app, "supervisor")
    writer = new_client(app, "admin")
    time.sleep(1.1)  # the logins (POSTs) are older than the read-after-write window
    health = _caught_up(app)
    assert health["primary"] == "ok" and health["replica"]["state"] == "ok"
    assert health["replica"]["in_recovery"] and health["replica"]["lag_bytes"] == 0

    with standby.connect() as conn:  # the standby stops applying WAL: it falls behind
        conn.execute(sa.text("SELECT pg_wal_replay_pause()"))
    try:
        made = create(writer, WEST)  # POST → primary
        iid = made["id"]
        # the writer's next page reads go to the primary: it sees its new case at once
        own = writer.get(f"/api/incidents/{iid}")
        assert own.status_code == 200 and own.headers["X-Gridmap-Read"] == "primary"
        # another user's reads go to the replica, which has not replayed the case yet
        other = reader.get(f"/api/incidents/{iid}")
        assert other.headers["X-Gridmap-Read"] == "replica" and other.status_code == 404
        page = reader.get("/supervisor")
        assert page.status_code == 200 and page.headers["X-Gridmap-Read"] == "replica"
        # /api/locate (its own autocommit pool) reads the replica too
        assert reader.get(f"/api/locate?lon={WEST[0]}&lat={WEST[1]}").status_code == 200
        assert app.extensions["gridmap.locate_engine"].url.port == standby.url.port
        lagging = app.test_client().get("/health").get_json()["replica"]
        assert lagging["replay_paused"] and lagging["lag_bytes"] > 0
    finally:
        with standby.connect() as conn:
            conn.execute(sa.text("SELECT pg_wal_replay_resume()"))
    _caught_up(app)
    seen = reader.get(f"/api/incidents/{iid}")
    assert seen.status_code == 200 and seen.headers["X-Gridmap-Read"] == "replica"
    time.sleep(1.1)  # after the window the writer reads from the replica again
    assert writer.get(f"/api/incidents/{iid}").headers["X-Gridmap-Read"] == "replica"
    with make_engine(primary_url, poolclass=sa.pool.NullPool).connect() as conn:
        assert primary_position(conn)
    standby.dispose()


def test_without_a_replica_everything_reads_the_primary(replica: tuple[str, str]) -> None:
    app = make_app(replica[0])
    body = app.test_client().get("/health").get_json()
    assert body == {"primary": "ok", "replica": None}
    client = new_client(app, "supervisor")
    assert client.get("/supervisor").headers["X-Gridmap-Read"] == "primary"
