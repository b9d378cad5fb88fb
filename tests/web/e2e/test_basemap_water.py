"""Water and green on our own basemap (issue #16) in headless Chromium: a lake, a park and
a river from the ``landcover``/``waterway`` tables are painted in their colours under the
supervisor map's layers, with the lake's and park's names as labels.

Screenshot: test-output/screenshots/basemap_water_green_z17.png
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, browser_login, screenshot, seed_network

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAKE = (116.4032, 39.9052, 116.4046, 39.9062)
PARK = (116.4032, 39.9066, 116.4046, 39.9076)
_PIXEL = """([lat, lon]) => {
  const p = gm.map.latLngToContainerPoint([lat, lon]);
  const box = gm.map.getContainer().getBoundingClientRect();
  const x = box.left + p.x, y = box.top + p.y;
  for (const c of document.querySelectorAll('.leaflet-gmBase-pane canvas')) {
    const r = c.getBoundingClientRect();
    if (x < r.left || x >= r.right || y < r.top || y >= r.bottom) continue;
    const d = c.getContext('2d').getImageData(Math.floor((x - r.left) * c.width / r.width),
                                              Math.floor((y - r.top) * c.height / r.height), 1, 1).data;
    if (d[3] > 0) return [d[0], d[1], d[2]];
  }
  return null;
}"""


def _box(b: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = b
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


@pytest.fixture
def water_world(web_db: WebDB) -> WebDB:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        seed_network(conn)
        conn.execute(sa.text(
            "INSERT INTO landcover (osm_id, kind, name, geom) VALUES"
            " ('e2e/lake', 'water', '测试湖', :lake), ('e2e/park', 'park', '测试公园', :park)"),
            {"lake": _box(LAKE), "park": _box(PARK)})
        conn.execute(sa.text(
            "INSERT INTO waterway (osm_id, kind, name, geom) VALUES ('e2e/river', 'river',"
            " '测试河', 'SRID=4326;LINESTRING(116.4010 39.9049,116.4090 39.9049)')"))
    eng.dispose()
    return web_db


def _close(rgb: list[int] | None, hexcolour: str) -> bool:
    want = [int(hexcolour[i:i + 2], 16) for i in (1, 3, 5)]
    return rgb is not None and all(abs(a - b) <= 12 for a, b in zip(rgb, want, strict=True))


def test_lake_park_and_river_are_painted_with_names(browser_page: Any, live_server: str,
                                                    water_world: WebDB) -> None:
    page = browser_page
    browser_login(page, live_server, "supervisor", next_path="/supervisor")
    page.goto("about:blank")
    page.goto(f"{live_server}/supervisor#map=17/39.90620/116.40400")
    page.wait_for_selector("body[data-sup-ready='1']")
    page.wait_for_selector(".gm-base-label-water", state="attached")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    lake = page.evaluate(_PIXEL, [(LAKE[1] + LAKE[3]) / 2, (LAKE[0] + LAKE[2]) / 2])
    park = page.evaluate(_PIXEL, [(PARK[1] + PARK[3]) / 2, (PARK[0] + PARK[2]) / 2])
    river = page.evaluate(_PIXEL, [39.9049, 116.4060])
    assert _close(lake, "#b5d3e7"), lake  # water blue
    assert _close(park, "#d6ecc9"), park  # park green
    assert _close(river, "#b5d3e7"), river
    names = page.locator(".gm-base-label").all_text_contents()
    assert "测试湖" in names and "测试公园" in names, names
    screenshot(page, "basemap_water_green_z17")
    assert page.gm_errors == [], page.gm_errors
