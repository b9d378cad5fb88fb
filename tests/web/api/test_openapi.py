"""``/api/openapi.json`` (web/api/openapi.py): valid-looking OpenAPI 3.1 that covers every
registered /api and /open311 route with the right methods."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

pytest_plugins = ["tests.fixtures.web"]



def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def test_document_shape(client: FlaskClient) -> None:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"]
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        for method, op in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}, (path, method)
            assert op["summary"], (path, method)
            assert {"200", "201"} & set(op["responses"]), (path, method)
    # every $ref resolves
    text = r.get_data(as_text=True)
    for ref in set(re.findall(r'"\$ref": ?"#/components/([a-zA-Z]+)/([A-Za-z0-9]+)"', text)):
        assert ref[1] in doc["components"][ref[0]], ref


def test_every_api_route_is_described(app: Flask, client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    hand_written = {
        "/api/locate", "/api/incidents", "/api/incidents/{incident_id}/transitions",
        "/api/aggregates/heat", "/api/aggregates/grids", "/api/incidents/overdue", "/api/hotspots",
        "/open311/v2/services.json", "/open311/v2/requests.json",
        "/open311/v2/requests/{service_request_id}.json",
    }
    assert hand_written <= set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/open311/")):
            continue
        path = _path(rule.rule)
        assert path in doc["paths"], path
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], (path, method)
    post = doc["paths"]["/open311/v2/requests.json"]["post"]
    assert {"api_key": []} in post["security"]
