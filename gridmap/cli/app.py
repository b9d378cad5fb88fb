"""The ``gridmap`` command group and what every command shares.

:func:`main` is the root click group; command modules (``gridmap.cli.db``, …) attach their
commands to it and :mod:`gridmap.cli` imports them all. :class:`AppContext` holds the
settings and a lazily created engine for one invocation; :func:`report_errors` turns a
:class:`gridmap.errors.GridmapError` into a one-line message in ``GRIDMAP_LANG`` (default
zh), plus the list of problems for validation errors, and exit code 1.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Connection, Engine

from gridmap import messages
from gridmap.config import Settings
from gridmap.db.engine import engine_from_settings
from gridmap.errors import GridmapError, ValidationError

F = TypeVar("F", bound=Callable[..., Any])


def report_errors(func: F) -> F:
    """Decorator: turn GridmapError into a clear message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            lang = current_lang()
            click.echo(f"{_error_label(lang)}: {exc.render(lang, limit=0)}", err=True)
            for p in exc.problems:
                severity = messages.render(f"core.severity.{p.severity}", None, lang)
                click.echo(f"  - [{severity}] {p.describe(lang)}", err=True)
            sys.exit(1)
        except GridmapError as exc:
            lang = current_lang()
            click.echo(f"{_error_label(lang)}: {exc.render(lang)}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def current_lang() -> str:
    """The language of the invocation's settings (``GRIDMAP_LANG``, default zh)."""
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx is not None else None
    return app.settings.lang if app is not None else Settings.load().lang


def say(code: str, params: Mapping[str, Any] | None = None, *, err: bool = False) -> None:
    """Print the catalogued message ``code`` in the invocation's language."""
    click.echo(messages.render(code, params, current_lang()), err=err)


def _error_label(lang: str) -> str:
    return messages.render("core.error", None, lang)


class AppContext:
    """Settings and a lazily created engine shared by the commands of one invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = engine_from_settings(self.settings)
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn


pass_app = click.make_pass_decorator(AppContext)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """gridmap: grid management, incidents and 15-minute life-circle coverage."""
    ctx.obj = AppContext(Settings.load())
