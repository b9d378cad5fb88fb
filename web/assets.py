"""Front-end assets served by the app itself: no CDN, ever.

``python -m web.assets`` copies the pinned npm packages (``package.json`` /
``package-lock.json``, installed by ``npm ci``) from ``node_modules`` into
``web/static/vendor/`` and writes ``vendor/manifest.json`` (package versions and the
SHA-256 of each file). :func:`patch_folium` replaces Folium's default CDN URLs (and
those of the plugins we use) by ``/static/vendor/...`` URLs; :func:`cdn_urls` finds
any remaining external asset URL in a rendered page (tests use it).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
PREFIX = "/static/vendor"

# npm package -> [(source path inside the package, destination inside vendor/)]
FILES: dict[str, list[tuple[str, str]]] = {
    "leaflet": [
        ("dist/leaflet.js", "leaflet/leaflet.js"),
        ("dist/leaflet.css", "leaflet/leaflet.css"),
        ("dist/images", "leaflet/images"),
    ],
    "jquery": [("dist/jquery.min.js", "jquery/jquery.min.js")],
    "leaflet.heat": [("dist/leaflet-heat.js", "leaflet.heat/leaflet-heat.js")],
    "leaflet-draw": [
        ("dist/leaflet.draw.js", "leaflet-draw/leaflet.draw.js"),
        ("dist/leaflet.draw.css", "leaflet-draw/leaflet.draw.css"),
        ("dist/images", "leaflet-draw/images"),
    ],
    "leaflet.markercluster": [
        ("dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"),
        ("dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"),
        ("dist/MarkerCluster.Default.css", "leaflet.markercluster/MarkerCluster.Default.css"),
    ],
    "leaflet.vectorgrid": [
        ("dist/Leaflet.VectorGrid.bundled.min.js",
         "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
    ],
    "leaflet.awesome-markers": [
        ("dist/leaflet.awesome-markers.js", "awesome-markers/leaflet.awesome-markers.js"),
        ("dist/leaflet.awesome-markers.css", "awesome-markers/leaflet.awesome-markers.css"),
        ("dist/images", "awesome-markers/images"),
    ],
    "idb-keyval": [("dist/umd.js", "idb-keyval/idb-keyval.umd.js")],  # field page offline queue (#14)
    "@fortawesome/fontawesome-free": [
        ("css/all.min.css", "fontawesome/css/all.min.css"),
        ("webfonts", "fontawesome/webfonts"),
    ],
    # Apache ECharts (Apache-2.0; LICENSE and NOTICE travel with it). echarts.min.js is the
    # full build; echarts.common.min.js (line, bar, pie, scatter, tooltip, legend, dataZoom)
    # is what the dashboard loads to keep its first paint small (#17).
    "echarts": [
        ("dist/echarts.min.js", "echarts/echarts.min.js"),
        ("dist/echarts.common.min.js", "echarts/echarts.common.min.js"),
        ("LICENSE", "echarts/LICENSE"),
        ("NOTICE", "echarts/NOTICE"),
    ],
}

# Asset name (Folium's names where Folium has one) -> local URL.
URLS: dict[str, str] = {
    "leaflet": f"{PREFIX}/leaflet/leaflet.js",
    "leaflet_css": f"{PREFIX}/leaflet/leaflet.css",
    "jquery": f"{PREFIX}/jquery/jquery.min.js",
    "leaflet-heat.js": f"{PREFIX}/leaflet.heat/leaflet-heat.js",
    "leaflet_draw_js": f"{PREFIX}/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": f"{PREFIX}/leaflet-draw/leaflet.draw.css",
    "markerclusterjs": f"{PREFIX}/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": f"{PREFIX}/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": f"{PREFIX}/leaflet.markercluster/MarkerCluster.Default.css",
    "vectorgrid": f"{PREFIX}/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "awesome_markers": f"{PREFIX}/awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": f"{PREFIX}/awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": f"{PREFIX}/fontawesome/css/all.min.css",
    "awesome_rotate_css": "/static/css/awesome-rotate.css",
    "echarts": f"{PREFIX}/echarts/echarts.min.js",
    "echarts_common": f"{PREFIX}/echarts/echarts.common.min.js",
}

_EXTERNAL = re.compile(
    r"""<(?:script|link)\b[^>]*?(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)["']""", re.I
)


def patch_folium() -> None:
    """Point Folium's Map and the plugins we use at local asset URLs (idempotent).

    Folium 0.20 loads Leaflet, jQuery, Bootstrap (+ glyphicons), Leaflet.awesome-markers,
    Font Awesome and a rotate CSS from CDNs. Our maps need Leaflet; awesome-markers and
    Font Awesome are kept (local) because ``folium.Icon`` needs them, jQuery because
    ``folium.Popup`` with HTML content uses ``$``; Bootstrap and glyphicons are dropped:
    nothing in Folium's maps, popups or the plugins we use needs them.
    """
    import folium
    from folium import plugins

    folium.Map.default_js = [
        ("leaflet", URLS["leaflet"]),
        ("jquery", URLS["jquery"]),
        ("awesome_markers", URLS["awesome_markers"]),
    ]
    folium.Map.default_css = [
        ("leaflet_css", URLS["leaflet_css"]),
        ("awesome_markers_font_css", URLS["awesome_markers_font_css"]),
        ("awesome_markers_css", URLS["awesome_markers_css"]),
        ("awesome_rotate_css", URLS["awesome_rotate_css"]),
    ]
    plugins.HeatMap.default_js = [("leaflet-heat.js", URLS["leaflet-heat.js"])]
    plugins.Draw.default_js = [("leaflet_draw_js", URLS["leaflet_draw_js"])]
    plugins.Draw.default_css = [("leaflet_draw_css", URLS["leaflet_draw_css"])]
    plugins.MarkerCluster.default_js = [("markerclusterjs", URLS["markerclusterjs"])]
    plugins.MarkerCluster.default_css = [
        ("markerclustercss", URLS["markerclustercss"]),
        ("markerclusterdefaultcss", URLS["markerclusterdefaultcss"]),
    ]


def cdn_urls(html: str) -> list[str]:
    """External (``http(s)://`` or ``//``) script/stylesheet URLs found in ``html``."""
    return _EXTERNAL.findall(html)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor(node_modules: Path = NODE_MODULES, dest: Path = VENDOR) -> dict:
    """Copy the pinned packages into ``dest`` and write ``dest/manifest.json``.

    Raises
    ------
    FileNotFoundError
        If a package or file is missing (run ``npm ci`` first).
    """
    manifest: dict = {"packages": {}, "files": {}}
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for package, files in FILES.items():
        pkg_dir = node_modules / package
        meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
        manifest["packages"][package] = meta["version"]
        for src, dst in files:
            s, d = pkg_dir / src, dest / dst
            d.parent.mkdir(parents=True, exist_ok=True)
            if s.is_dir():
                shutil.copytree(s, d)
                copied = sorted(p for p in d.rglob("*") if p.is_file())
            else:
                shutil.copy2(s, d)
                copied = [d]
            for p in copied:
                manifest["files"][p.relative_to(dest).as_posix()] = _sha256(p)
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True),
                                        encoding="utf-8")
    return manifest


def main() -> int:
    try:
        manifest = vendor()
    except FileNotFoundError as exc:
        print(f"error: {exc.filename} is missing; run `npm ci` in {ROOT}", file=sys.stderr)
        return 1
    pkgs = ", ".join(f"{k}@{v}" for k, v in manifest["packages"].items())
    print(f"vendored {len(manifest['files'])} files into {VENDOR}: {pkgs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
