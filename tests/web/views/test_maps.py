"""Map builder and vendored assets: local URLs only, basemaps, GCJ-02 display."""

from __future__ import annotations

import json

import folium
import pytest
from folium import plugins

from gridmap.errors import ConfigError
from web import assets
from web.assets import cdn_urls
from web.views import maps


@pytest.fixture
def ctx():
    from web import create_app

    app = create_app({"TESTING": True, "database_url": "postgresql+psycopg://x@127.0.0.1:9/x",
                      "tianditu_key": "KEY123"})
    with app.test_request_context():
        yield app


def test_manifest_lists_pinned_versions() -> None:
    manifest = json.loads((assets.VENDOR / "manifest.json").read_text())
    lock = json.loads((assets.ROOT / "package-lock.json").read_text())["packages"]
    for package, version in manifest["packages"].items():
        assert lock[f"node_modules/{package}"]["version"] == version
    assert manifest["packages"]["leaflet"] == "1.9.4"
    for url in assets.URLS.values():
        assert (assets.STATIC / url.removeprefix("/static/")).is_file(), url


def test_folium_and_plugins_render_no_cdn_url() -> None:
    m = folium.Map(location=[39.9, 116.4], tiles=None)
    plugins.HeatMap([[39.9, 116.4, 1.0]]).add_to(m)
    plugins.Draw().add_to(m)
    plugins.MarkerCluster().add_to(m)
    folium.Marker([39.9, 116.4], popup=folium.Popup("<b>x</b>"),
                  icon=folium.Icon(icon="home")).add_to(m)
    html = m.get_root().render()
    assert cdn_urls(html) == []
    assert "/static/vendor/leaflet/leaflet.js" in html


def test_cdn_urls_detects_external_assets() -> None:
    assert cdn_urls('<script src="https://cdn.example/x.js"></script>') == ["https://cdn.example/x.js"]
    assert cdn_urls('<link rel="stylesheet" href="//cdn.example/x.css">') == ["//cdn.example/x.css"]
    assert cdn_urls('<script src="/static/x.js"></script>') == []


def test_build_map_default_is_offline(ctx) -> None:
    parts = maps.build_map(plugins=("vectorgrid", "heat"))
    assert parts.display == "wgs84"
    assert "L.tileLayer" not in str(parts.script)
    assert "control.scale" not in str(parts.script)  # Folium's shows feet: basemap.js adds a metric one
    assert parts.basemap == "none"
    assert "Leaflet.VectorGrid" in str(parts.header)
    assert cdn_urls(str(parts.header)) == []
    # our own basemap needs VectorGrid on every page, asked for or not
    assert "Leaflet.VectorGrid" in str(maps.build_map(plugins=("heat",)).header)
    assert "Leaflet.VectorGrid" not in str(maps.build_map(basemap="osm").header)


def test_fit_bounds_is_not_animated(ctx) -> None:
    parts = maps.build_map(bounds=(116.40, 39.90, 116.42, 39.915))
    assert '"animate": false' in str(parts.script)  # a view from the URL hash cannot race it


@pytest.mark.parametrize(("basemap", "needle", "display"), [
    ("osm", "tile.openstreetmap.org", "wgs84"),
    ("tianditu", "tk=KEY123", "wgs84"),
    ("amap", "autonavi.com", "gcj02"),
])
def test_basemaps(ctx, basemap: str, needle: str, display: str) -> None:
    parts = maps.build_map(center=(39.9, 116.4), basemap=basemap)
    assert needle in str(parts.script) and parts.display == display
    if display == "gcj02":  # the centre is shifted to GCJ-02 for display
        assert "39.9," not in str(parts.script).split("center:")[1][:30]


def test_unknown_basemap_and_plugin(ctx) -> None:
    with pytest.raises(ConfigError):
        maps.build_map(basemap="bing")
    with pytest.raises(ValueError):
        maps.build_map(plugins=("nope",))
