"""Issue #12 (info): ``gridmap serve`` never uses gunicorn's fixed per-user control socket,
so a second instance cannot remove the first one's."""

from __future__ import annotations

import subprocess

from gridmap.cli.serve import gunicorn_argv


def test_gunicorn_runs_without_the_shared_control_socket() -> None:
    argv = gunicorn_argv("127.0.0.1", 5000, 2)
    assert "--no-control-socket" in argv and "--control-socket" not in argv
    helptext = subprocess.run([argv[0], "--help"], capture_output=True, text=True,
                              timeout=60).stdout
    assert "--no-control-socket" in helptext  # the installed gunicorn knows the option


def test_workers_serve_several_requests_at_once() -> None:
    """Threaded workers: two processes do not mean two requests at a time (#14 load)."""
    argv = gunicorn_argv("127.0.0.1", 5000, 2, threads=6)
    assert argv[argv.index("--worker-class") + 1] == "gthread"
    assert argv[argv.index("--threads") + 1] == "6"
