"""The embedded default database: a project-local PostgreSQL/PostGIS cluster.

When ``DATABASE_URL`` is unset, gridmap runs its own cluster: ``initdb`` into
``<data_dir>/pgdata``, listening on 127.0.0.1:<port> and on a socket in
``<data_dir>/run``, password authentication with a random password kept in
``<data_dir>/db-password`` (mode 0600). PostgreSQL refuses to run as root, so
when gridmap runs as root the server runs as the ``postgres`` system user
(created by Debian's ``postgresql-common``).

Tests use the same class with a throwaway directory.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from gridmap.errors import DatabaseUnavailable

INSTALL_HINT = "apt-get install -y postgresql-15 postgresql-15-postgis-3"
DB_USER = "gridmap"
REQUIRED_EXTENSIONS = ("postgis",)


def find_bindir() -> Path:
    """Return the directory of the PostgreSQL server binaries (newest version).

    Raises
    ------
    DatabaseUnavailable
        If no server installation is found, with the install command.
    """
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise DatabaseUnavailable("db.no_server_binaries", {"hint": INSTALL_HINT})


def check_extensions(bindir: Path) -> None:
    """Fail with the install line if PostGIS is not installed for this server."""
    version = bindir.parent.name
    share = Path("/usr/share/postgresql") / version / "extension"
    if not share.is_dir():
        try:
            out = subprocess.run(
                [str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            share = Path(out) / "extension"
        except (OSError, subprocess.CalledProcessError):
            return
    missing = [e for e in REQUIRED_EXTENSIONS if not (share / f"{e}.control").exists()]
    if missing:
        raise DatabaseUnavailable("db.missing_extensions",
                                  {"extensions": missing, "hint": INSTALL_HINT})


@dataclass
class LocalCluster:
    """A PostgreSQL cluster living in ``data_dir``.

    Parameters
    ----------
    data_dir:
        Directory that holds ``pgdata/``, ``run/`` (socket), ``postgres.log`` and the password.
    port:
        TCP port on 127.0.0.1.
    fast:
        Turn off durability (fsync, synchronous_commit); for throwaway test clusters only.
    """

    data_dir: Path
    port: int = 54329
    fast: bool = False

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.data_dir / "db-password"

    # -- running commands as the right OS user -------------------------------
    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, argv: list[str], failed: str) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as the cluster's owner; on failure raise the message code ``failed``."""
        proc = subprocess.run(self._as_owner(argv), capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise DatabaseUnavailable(failed, {"detail": " | ".join(tail), "log": self.logfile})
        return proc

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    # -- lifecycle ----------------------------------------------------------------
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster if it does not exist yet (idempotent)."""
        bindir = find_bindir()
        check_extensions(bindir)
        if self.initialised():
            return
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise DatabaseUnavailable("db.no_postgres_user", {"hint": INSTALL_HINT}) from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
        pwfile = self.data_dir / ".initdb-pw"
        pwfile.write_text(self.password() + "\n")
        for p in (self.data_dir, self.socket_dir, pwfile):
            self._chown(p)
        os.chmod(self.password_file, 0o600)
        if os.geteuid() == 0 and not self._reachable_by_postgres():
            raise DatabaseUnavailable("db.data_dir_unreachable", {"path": self.data_dir})
        try:
            self._run(
                [
                    str(bindir / "initdb"), "-D", str(self.pgdata), "-U", DB_USER,
                    "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale",
                ],
                "db.initdb_failed",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "shared_buffers = 512MB",
            "work_mem = 64MB",
            "maintenance_work_mem = 512MB",
            "max_wal_size = 2GB",
            "max_connections = 100",
        ]
        if self.fast:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.pgdata / "postgresql.auto.conf", "a") as fh:
            fh.write("\n".join(conf) + "\n")

    def _reachable_by_postgres(self) -> bool:
        proc = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-w", str(self.data_dir)],
            capture_output=True,
        )
        return proc.returncode == 0

    def running(self) -> bool:
        bindir = find_bindir()
        if not self.initialised():
            return False
        proc = subprocess.run(
            self._as_owner([str(bindir / "pg_ctl"), "-D", str(self.pgdata), "status"]),
            capture_output=True,
            text=True,
        )
        return proc.returncode == 0

    def start(self) -> None:
        """Initialise if needed and start the server (idempotent)."""
        self.init()
        if self.running():
            return
        bindir = find_bindir()
        if not self.logfile.exists():
            self.logfile.touch()
            self._chown(self.logfile)
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.logfile), "-w",
             "-t", "60", "start"],
            "db.start_failed",
        )

    def stop(self) -> None:
        """Stop the server if it runs (idempotent)."""
        if not self.running():
            return
        bindir = find_bindir()
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            "db.stop_failed",
        )

    def state(self) -> str:
        """``"not_initialised"``, ``"running"`` or ``"stopped"``."""
        if not self.initialised():
            return "not_initialised"
        return "running" if self.running() else "stopped"

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) for a database of this cluster."""
        return f"postgresql+psycopg://{DB_USER}:{self.password()}@127.0.0.1:{self.port}/{dbname}"

    def ensure_database(self, dbname: str, template: str | None = None) -> str:
        """Create ``dbname`` with PostGIS if missing; return its URL."""
        dsn = f"host=127.0.0.1 port={self.port} user={DB_USER} password={self.password()}"
        deadline = time.monotonic() + 30
        while True:
            try:
                admin = psycopg.connect(dsn + " dbname=postgres", autocommit=True)
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable("db.local_connect_failed",
                                              {"error": str(exc)}) from exc
                time.sleep(0.2)
        with admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone()
            if not exists:
                stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
                if template:
                    stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(dbname), sql.Identifier(template)
                    )
                admin.execute(stmt)
        if not template:
            with psycopg.connect(dsn + f" dbname={dbname}", autocommit=True) as db:
                for ext in REQUIRED_EXTENSIONS:
                    db.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")  # constant names
        return self.url(dbname)
