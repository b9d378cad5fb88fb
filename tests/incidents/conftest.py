"""Fixtures of the incident tests."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from tests.fixtures.incident_world import build_world


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    """The small district of :mod:`tests.fixtures.incident_world`; ids by name."""
    return build_world(conn)
