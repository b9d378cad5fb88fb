"""Folium map skeletons for the pages: local assets only, basemap from settings.

A page calls :func:`build_map` and puts the parts into ``base.html``'s map blocks::

    parts = maps.build_map(plugins=("heat",))
    return render_template("x.html", map=parts)

The template gets ``map.header`` (CSS/JS links + Folium's styles), ``map.html`` (the
map ``<div>``), ``map.script`` (Folium's script, which defines the global JS variable
``map.name``). After it, ``static/js/gridmap.js`` finds the map as ``gm.map`` and page
scripts add data layers fetched from ``/api`` by bbox and zoom: pages never inline
big GeoJSON.

Basemaps (``Settings.basemap``): ``none`` (default; offline, plain background),
``osm``, ``tianditu`` (key ``Settings.tianditu_key``) and ``amap``. Amap tiles are in
GCJ-02: the page then sets ``gm.display = "gcj02"`` and asks the layer API for
``display=gcj02`` coordinates (display only; stored data stay WGS84, gridmap.crs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
from flask import current_app
from folium.elements import JSCSSMixin
from folium.map import FitBounds
from markupsafe import Markup

from gridmap.config import Settings
from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import ConfigError
from web import assets

assets.patch_folium()

BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "amap")
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
    "contributors (ODbL)"
)
# Extra plugin scripts a page may ask for: name -> (js, css) local URLs.
PLUGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "heat": ((assets.URLS["leaflet-heat.js"],), ()),
    "draw": ((assets.URLS["leaflet_draw_js"],), (assets.URLS["leaflet_draw_css"],)),
    "markercluster": (
        (assets.URLS["markerclusterjs"],),
        (assets.URLS["markerclustercss"], assets.URLS["markerclusterdefaultcss"]),
    ),
    "vectorgrid": ((assets.URLS["vectorgrid"],), ()),
}
DEFAULT_CENTER = (39.9087, 116.3975)  # Beijing; pages pass the data's centre


@dataclass(frozen=True)
class MapParts:
    """The pieces of a Folium map to place in a page."""

    name: str
    header: Markup
    html: Markup
    script: Markup
    display: str
    """``wgs84`` or ``gcj02``: the coordinates the layer API must return for this basemap."""
    basemap: str = "none"
    """The tile provider; ``none``: ``static/js/basemap.js`` draws our own vector basemap."""


class _Assets(JSCSSMixin):
    """Adds local plugin scripts/styles to the map's header."""

    def __init__(self, js: Iterable[str], css: Iterable[str]) -> None:
        super().__init__()
        self._name = "GridmapAssets"
        self.default_js = [(f"gm_js_{i}", u) for i, u in enumerate(js)]
        self.default_css = [(f"gm_css_{i}", u) for i, u in enumerate(css)]


def display_crs(basemap: str) -> str:
    """Coordinates the layers are shown in for ``basemap`` (``gcj02`` for Amap)."""
    return "gcj02" if basemap == "amap" else "wgs84"


def _settings() -> Settings:
    s: Settings = current_app.extensions["gridmap.settings"]
    return s


def _add_basemap(m: folium.Map, basemap: str, tianditu_key: str | None) -> None:
    if basemap == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png", name="OpenStreetMap",
            attr=OSM_ATTRIBUTION, max_zoom=19,
        ).add_to(m)
    elif basemap == "tianditu":
        if not tianditu_key:
            raise ConfigError("web.tianditu_key_missing")
        for layer, name in (("vec", "天地图"), ("cva", "天地图注记")):
            folium.TileLayer(
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={tianditu_key}",
                name=name, attr="&copy; 天地图 Tianditu", subdomains="01234567",
                overlay=layer == "cva", max_zoom=18,
            ).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}",
            name="高德地图 (GCJ-02)", attr="&copy; 高德地图 AutoNavi", subdomains="1234",
            max_zoom=18,
        ).add_to(m)
    elif basemap != "none":
        raise ConfigError("web.unknown_basemap", {"basemap": basemap, "basemaps": list(BASEMAPS)})


def build_map(
    center: tuple[float, float] | None = None,
    zoom: int = 14,
    plugins: Iterable[str] = (),
    basemap: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> MapParts:
    """Build the map skeleton: basemap, OSM attribution, local assets.

    The metric scale bar, the view in the URL hash and (for ``basemap == "none"``) our own
    vector basemap are added in the browser by ``static/js/basemap.js`` (``base.html``
    loads it on every map page; the ``vectorgrid`` plugin is then always included).

    Parameters
    ----------
    center:
        ``(lat, lon)`` in WGS84 (shifted for display when the basemap is GCJ-02).
    plugins:
        Names from :data:`PLUGINS` whose local scripts the page needs.
    basemap:
        Overrides ``Settings.basemap``.
    bounds:
        ``(lon_min, lat_min, lon_max, lat_max)`` to fit the view to (WGS84).
    """
    settings = _settings()
    basemap = basemap or settings.basemap
    display = display_crs(basemap)
    lat, lon = center or DEFAULT_CENTER
    if display == "gcj02":
        glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
        lat, lon = float(glat[0]), float(glon[0])
    # no Folium scale bar (it shows feet): static/js/basemap.js adds a metric one
    m = folium.Map(location=[lat, lon], zoom_start=zoom, tiles=None, control_scale=False,
                   prefer_canvas=False, max_zoom=20)
    _add_basemap(m, basemap, settings.tianditu_key)
    js: list[str] = []
    css: list[str] = []
    plugins = tuple(plugins)
    if basemap == "none" and "vectorgrid" not in plugins:
        plugins += ("vectorgrid",)  # our own basemap (static/js/basemap.js)
    for name in plugins:
        if name not in PLUGINS:
            raise ValueError(f"unknown map plugin {name!r}")
        js += PLUGINS[name][0]
        css += PLUGINS[name][1]
    if js or css:
        m.add_child(_Assets(js, css))
    if bounds is not None:
        fit = FitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
        fit.options["animate"] = False  # no zoom animation a view from the URL would race
        m.add_child(fit)
    root: Any = m.get_root()
    root.render()
    header = root.header.render()
    script = root.script.render()
    if assets.cdn_urls(header):
        raise RuntimeError(f"external asset URLs in map header: {assets.cdn_urls(header)}")
    return MapParts(
        name=m.get_name(), header=Markup(header),  # noqa: S704 (Folium output, no user data)
        html=Markup(root.html.render()), script=Markup(script),  # noqa: S704
        display=display, basemap=basemap,
    )
