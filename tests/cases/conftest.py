"""Fixtures of the case workspace tests: the hand-made street of
:mod:`tests.fixtures.org_world` with the routing rules of :mod:`tests.fixtures.dispatch_world`."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from tests.fixtures.dispatch_world import DispatchWorld, build_dispatch_world


@pytest.fixture
def dw(conn: Connection) -> DispatchWorld:
    """The org world with the dispatch rules active."""
    return build_dispatch_world(conn)
