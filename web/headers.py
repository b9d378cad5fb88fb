"""Security headers on every response, and the per-request CSP nonce.

Every response gets a Content-Security-Policy whose ``script-src`` allows the app's own
files (``'self'``) and inline ``<script>`` blocks that carry this request's nonce, never
``'unsafe-inline'``: an injected ``<script>`` or ``onerror=`` attribute does not run.
Templates write inline scripts as ``<script nonce="{{ csp_nonce() }}">``; Folium's
header (trusted markup built by :mod:`web.views.maps`, no data in it) gets the nonce
through the ``nonce_scripts`` filter. Also: ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, a Referrer-Policy, a
Permissions-Policy (geolocation for this origin only: the phone report page) and
``Cache-Control: no-store`` on every page and API answer (they carry personal data)
unless the view chose its own (e.g. ``private, max-age=60`` on aggregate counts); static
files keep their normal caching.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request
from markupsafe import Markup

from gridmap.config import Settings

# Tile hosts of the basemaps (web.views.maps): images only.
TILE_HOSTS: dict[str, tuple[str, ...]] = {
    "none": (),
    "osm": ("https://tile.openstreetmap.org",),
    "tianditu": ("https://*.tianditu.gov.cn",),
    "amap": ("https://*.is.autonavi.com",),
}
PERMISSIONS_POLICY = (
    "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), "
    "interest-cohort=()"
)
_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.IGNORECASE)


def csp_nonce() -> str:
    """This request's CSP nonce (made on first use; the same for the whole response)."""
    nonce: str | None = g.get("gm_csp_nonce")
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        g.gm_csp_nonce = nonce
    return nonce


def nonce_scripts(html: str) -> Markup:
    """Trusted markup (Folium's header) with this request's nonce on every ``<script>``.

    Only for markup the app builds itself: never apply it to anything holding data.
    """
    tagged = _SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', str(html))
    return Markup(tagged)  # noqa: S704 (trusted Folium markup, see docstring)


def content_security_policy(nonce: str, basemap: str) -> str:
    """The CSP header value for one response."""
    tiles = " ".join(TILE_HOSTS.get(basemap, ()))
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "script-src-attr 'none'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {tiles}".rstrip(),
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _add_headers(resp: Response, basemap: str) -> Response:
    h = resp.headers
    h["Content-Security-Policy"] = content_security_policy(csp_nonce(), basemap)
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Permissions-Policy"] = PERMISSIONS_POLICY
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static" and "Cache-Control" not in h:
        h["Cache-Control"] = "no-store"  # a view's own choice (private aggregates) is kept
        h["Pragma"] = "no-cache"
    return resp


def init_app(app: Flask, settings: Settings) -> None:
    """Install the headers and expose ``csp_nonce()`` / ``|nonce_scripts`` to templates."""
    basemap = settings.basemap
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonce_scripts"] = nonce_scripts
    app.after_request(lambda resp: _add_headers(resp, basemap))
