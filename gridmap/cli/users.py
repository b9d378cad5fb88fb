"""``gridmap users add|list|disable|passwd|demo``: web accounts (gridmap.accounts.users)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gridmap import messages
from gridmap.accounts import admin as admin_lib
from gridmap.accounts import users as lib
from gridmap.accounts.users import User
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors, say
from gridmap.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])


@main.group()
def users() -> None:
    """Web accounts: roles planner, supervisor, officer, admin, staff."""


def _read_password(password_file: Path | None, password_env: str | None) -> str:
    """Password from a file (first line), an environment variable or the prompt."""
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise ValidationError("cli.env_var_not_set", params={"name": password_env})
        return value
    value = click.prompt(messages.render("cli.users.password_prompt", None, current_lang()),
                         hide_input=True, confirmation_prompt=True)
    return str(value)


_password_options = [
    click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="Read the password from the first line of this file."),
    click.option("--password-env", metavar="VAR",
                 help="Read the password from this environment variable."),
]


_account_options = [
    click.option("--role", required=True, type=click.Choice(list(lib.ROLES))),
    click.option("--name", "display_name", help="Display name, e.g. 王丽."),
    click.option("--street", "streets", multiple=True,
                 help="Supervisor scope: 9-digit street code."),
    click.option("--community", "communities", multiple=True,
                 help="Supervisor scope: 12-digit community code."),
]


def _with_account_options(func: F) -> F:
    """--role, --name, --street, --community (``users add`` and ``users role``)."""
    for opt in reversed(_account_options):
        func = opt(func)
    return func


def _with_password_options(func: F) -> F:
    for opt in reversed(_password_options):
        func = opt(func)
    return func


@users.command("add")
@click.argument("username")
@_with_account_options
@_with_password_options
@pass_app
@report_errors
def add_cmd(app: AppContext, username: str, role: str, display_name: str | None,
            streets: tuple[str, ...], communities: tuple[str, ...],
            password_file: Path | None, password_env: str | None) -> None:
    """Create an account (password from a prompt, --password-file or --password-env)."""
    password = _read_password(password_file, password_env)
    with app.transaction() as conn:
        user = lib.add(conn, username, password, role, display_name=display_name,
                       streets=streets, communities=communities)
    say("cli.users.created", {"username": user.username, "role": user.role})


@users.command("list")
@pass_app
@report_errors
def list_cmd(app: AppContext) -> None:
    """List accounts: username, role, scope, status."""
    with app.transaction() as conn:
        rows = lib.list_users(conn)
    for u in rows:
        scope = ",".join(u.scope_streets + u.scope_communities) or "-"
        status = "active" if u.active else "disabled"
        demo = " demo" if u.demo else ""
        click.echo(f"{u.username}\t{u.role}\t{scope}\t{status}{demo}\t{u.display_name or ''}")


@users.command("disable")
@click.argument("username")
@pass_app
@report_errors
def disable_cmd(app: AppContext, username: str) -> None:
    """Disable an account (it can no longer log in; open sessions stop working)."""
    with app.transaction() as conn:
        lib.disable(conn, username)
    say("cli.users.disabled", {"username": username})


def _cli_actor() -> str:
    """Who runs the command, for the audit log (``cli:<login>``)."""
    return "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "?")


@users.command("enable")
@click.argument("username")
@pass_app
@report_errors
def enable_cmd(app: AppContext, username: str) -> None:
    """Let a disabled account log in again (recorded in the audit log)."""
    with app.transaction() as conn:
        admin_lib.enable_user(conn, _cli_actor(), username)
    say("admin.cli_enabled", {"username": username})


@users.command("role")
@click.argument("username")
@_with_account_options
@pass_app
@report_errors
def role_cmd(app: AppContext, username: str, role: str, display_name: str | None,
             streets: tuple[str, ...], communities: tuple[str, ...]) -> None:
    """Change an account's role and scope (its sessions end; recorded in the audit log)."""
    with app.transaction() as conn:
        admin_lib.change_user(conn, _cli_actor(), username, role,
                              " ".join(streets + communities), display_name)
    say("admin.cli_role_changed", {"username": username, "role": role})


@users.command("passwd")
@click.argument("username")
@_with_password_options
@pass_app
@report_errors
def passwd_cmd(app: AppContext, username: str, password_file: Path | None,
               password_env: str | None) -> None:
    """Set a new password."""
    password = _read_password(password_file, password_env)
    with app.transaction() as conn:
        lib.set_password(conn, username, password)
    say("cli.users.password_changed", {"username": username})


def print_demo_accounts(pairs: list[tuple[User, str]]) -> None:
    """Print demo accounts and their one-time passwords."""
    say("cli.users.demo_heading")
    for user, password in pairs:
        scope = ",".join(user.scope_streets) or "-"
        say("cli.users.demo_line", {"role": f"{user.role:<10}", "username": f"{user.username:<11}",
                                    "password": password, "scope": scope})


@users.command("demo")
@pass_app
@report_errors
def demo_cmd(app: AppContext) -> None:
    """Create or re-key the demo accounts with random passwords and print them."""
    with app.transaction() as conn:
        pairs = lib.ensure_demo(conn)
    print_demo_accounts(pairs)
