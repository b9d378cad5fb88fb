"""``gridmap serve``: the web app behind gunicorn (a production WSGI server)."""

from __future__ import annotations

import os
import secrets
import shutil
import sys

import click

from gridmap.accounts import users as accounts
from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.cli.users import print_demo_accounts
from gridmap.db.engine import database_url
from gridmap.errors import ConfigError


def gunicorn_argv(host: str, port: int, workers: int, timeout: int = 60, threads: int = 8
                  ) -> list[str]:
    """The gunicorn command line serving ``web:create_app()``.

    Threaded workers (``gthread``): a request mostly waits on PostgreSQL, so each process
    serves ``threads`` requests at once (the app's connection pool holds 10 + 10 overflow)
    and keeps browser connections alive (30 s, longer than a person reads a page) instead of
    one request per process at a time.
    gunicorn's control socket is off: its default path is one fixed file per user, so a
    second instance would remove the first one's socket (gridmap never uses it).
    """
    exe = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    return [exe, "--bind", f"{host}:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30",
            "--timeout", str(timeout), "--access-logfile", "-",
            "--forwarded-allow-ips", "127.0.0.1", "--no-control-socket", "web:create_app()"]


@main.command()
@click.option("--demo", is_flag=True, help="Create demo accounts (random passwords, printed).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int,
              help="Processes (about one per CPU core).")
@click.option("--threads", default=8, show_default=True, type=int,
              help="Requests served at once by each process.")
@pass_app
@report_errors
def serve(app: AppContext, demo: bool, host: str, port: int, workers: int,
          threads: int) -> None:
    """Serve the web app with gunicorn.

    Needs GRIDMAP_SECRET_KEY unless --demo (which makes one for this run). No account
    has a default password: create accounts with `gridmap users add`, or use --demo.
    """
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(app.settings)  # start the local cluster once, here
    if not app.settings.secret_key:
        if not demo:
            raise ConfigError("cli.secret_key_required")
        # One key shared by all workers, so a session works whichever worker answers.
        env["GRIDMAP_SECRET_KEY"] = secrets.token_hex(32)
    if demo:
        env["GRIDMAP_DEMO"] = "1"
        with app.transaction() as conn:
            pairs = accounts.ensure_demo(conn)
        print_demo_accounts(pairs)
    say("cli.serving", {"url": f"http://{host}:{port}/", "workers": workers}, err=True)
    sys.stdout.flush()
    argv = gunicorn_argv(host, port, workers, threads=threads)
    os.execvpe(argv[0], argv, env)
