"""Fixtures of the org tests: the hand-made street of :mod:`tests.fixtures.org_world`."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from tests.fixtures.org_world import OrgWorld, build_org_world


@pytest.fixture
def world(conn: Connection) -> OrgWorld:
    """The whole org world inside the test's rolled-back transaction."""
    return build_org_world(conn)
