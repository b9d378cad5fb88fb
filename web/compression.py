"""Response compression (issue #14: a phone on a slow link).

JSON and GeoJSON answers are compressed per response by Flask-Compress (brotli or gzip,
whichever the browser accepts; small answers are left alone). HTML pages are not: they carry
the CSRF token next to text a user may have typed, and compressing both together would let
an attacker guess the token from response sizes (BREACH); pages are small, their scripts and
styles (static files) are compressed. Static files (Leaflet,
the page scripts and styles) are compressed once per file version and kept in memory, so a
busy server does not compress the same 150 kB script for every phone: the kept copy is
keyed by path, modification time, size and encoding, and answered with ``Content-Length``,
a per-encoding ETag and ``Vary: Accept-Encoding`` (a conditional request still gets 304).
"""

from __future__ import annotations

import gzip
import os
import threading

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress

MIMETYPES = (
    "text/html", "text/css", "text/plain", "text/csv", "text/xml", "text/javascript",
    "application/javascript", "application/json", "application/geo+json",
    "application/xml", "image/svg+xml", "application/manifest+json",
)
MIN_SIZE = 1024
"""Answers below this many bytes go out as they are (the header costs more than it saves)."""

_STATIC: dict[tuple[str, float, int, str], bytes] = {}
_LOCK = threading.Lock()


def _encoding(accept: str) -> str | None:
    """The best encoding the browser accepts (``br`` then ``gzip``), or None."""
    offered = {part.split(";")[0].strip().lower(): ("q=0" not in part.replace(" ", ""))
               for part in accept.split(",")}
    for name in ("br", "gzip"):
        if offered.get(name):
            return name
    return None


def _packed(path: str, encoding: str) -> bytes:
    """The static file ``path`` compressed with ``encoding``, compressed once per version."""
    st = os.stat(path)
    key = (path, st.st_mtime, st.st_size, encoding)
    hit = _STATIC.get(key)
    if hit is None:
        with open(path, "rb") as f:
            raw = f.read()
        hit = (brotli.compress(raw, quality=9) if encoding == "br"
               else gzip.compress(raw, compresslevel=9, mtime=0))
        with _LOCK:
            for old in [k for k in _STATIC if k[0] == path and k != key]:
                _STATIC.pop(old, None)
            _STATIC[key] = hit
    return hit


def _static_file(resp: Response) -> str | None:
    """The file behind a 200 static answer worth compressing, else None."""
    if (request.endpoint != "static" or resp.status_code != 200
            or resp.mimetype not in MIMETYPES or "Content-Encoding" in resp.headers
            or (resp.content_length is not None and resp.content_length < MIN_SIZE)):
        return None
    folder = current_app.static_folder
    filename = (request.view_args or {}).get("filename")
    if not folder or not filename:
        return None
    path = os.path.realpath(os.path.join(folder, filename))
    inside = path.startswith(os.path.realpath(folder) + os.sep)
    return path if inside and os.path.isfile(path) else None


def _compress_static(resp: Response) -> Response:
    path = _static_file(resp)
    if path is None:
        return resp
    resp.vary.add("Accept-Encoding")
    encoding = _encoding(request.headers.get("Accept-Encoding", ""))
    if encoding is None:
        return resp
    body = _packed(path, encoding)
    etag, weak = resp.get_etag()
    resp.direct_passthrough = False
    resp.set_data(body)
    resp.headers["Content-Encoding"] = encoding
    if etag:
        resp.set_etag(f"{etag}-{encoding}", weak=bool(weak))
    resp.make_conditional(request)  # If-None-Match of the compressed copy: 304
    return resp


def init_app(app: Flask) -> None:
    """Compress dynamic answers (Flask-Compress) and serve static files compressed once."""
    app.config.setdefault("COMPRESS_MIMETYPES", list(MIMETYPES))
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    app.config.setdefault("COMPRESS_LEVEL", 5)
    app.config.setdefault("COMPRESS_MIN_SIZE", MIN_SIZE)
    app.config.setdefault("COMPRESS_STREAMS", False)  # file downloads (XLSX, photos) as they are
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress()
    compress.init_app(app)

    @app.after_request
    def _compress(resp: Response) -> Response:
        if request.endpoint == "static":
            return _compress_static(resp)
        if resp.mimetype == "text/html":  # pages carry the CSRF token: no BREACH oracle
            return resp
        return compress.after_request(resp)
