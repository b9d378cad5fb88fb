"""Fuzz every operation of ``/api/openapi.json`` with schemathesis: no answer is ever a 500.

The schema is read from the running test app; for each operation schemathesis (4.x) gives a
hypothesis strategy of requests, valid ones (``positive``) and ones that break the schema
on purpose (``negative``: wrong types, missing fields, odd strings). Each case is sent
through Flask's test client as a logged-in admin (every role check passes) with the CSRF
token, and again (fewer examples) as a supervisor limited to one street and as an officer;
with free path parameters (mostly unknown ids) and with ids that exist in the seeded
district, so the views run past their lookups. A 500 fails the test, listing
the request (method, path, query, body) of every operation that gave one.

Budget: :data:`EXAMPLES` examples per operation and mode, so the whole run stays within
about two minutes on two cores (``GRIDMAP_FUZZ_EXAMPLES`` raises it for a longer local run).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.fixtures.web import WebDB, new_client

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.slow]

EXAMPLES = int(os.environ.get("GRIDMAP_FUZZ_EXAMPLES", "5"))
ROLES = (("admin", EXAMPLES), ("supervisor", max(1, EXAMPLES // 3)),
         ("officer", max(1, EXAMPLES // 3)))
"""Who sends the cases and how many examples per operation and strategy: the admin passes
every role check (every view runs); a supervisor (area scope) and an officer get fewer."""
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _known_ids(web_db: WebDB) -> dict[str, int]:
    grid = web_db.ids["grid"]["110101001001"]
    return {"community_id": web_db.ids["community"]["110101001001"], "version_id": 1,
            "grid_id": grid, "incident_id": 1, "old": 1, "new": 1}


BASE = "http://fuzz.test"


def _query(params: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Query parameters as strings (nested values as JSON, lists repeated)."""
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        for v in value if isinstance(value, list) else [value]:
            out.append((str(key), v if isinstance(v, str) else json.dumps(v)))
    return out


def _send(client: FlaskClient, case: Any) -> Any:
    """One schemathesis case through the Flask test client (session and CSRF attached),
    serialised by schemathesis itself (``as_transport_kwargs``)."""
    kw = case.as_transport_kwargs(base_url=BASE)
    headers = {k: str(v) for k, v in kw.get("headers", {}).items()
               if k.lower() not in ("cookie", "content-length", "host", "connection",
                                    "accept-encoding")}
    headers["X-CSRFToken"] = client.csrf  # type: ignore[attr-defined]
    data: Any = None
    if "json" in kw:
        data = json.dumps(kw["json"], allow_nan=True, default=str)
        headers.setdefault("Content-Type", "application/json")
    elif kw.get("data") is not None:
        data = kw["data"]
        if isinstance(data, dict):
            data = {k: (v if isinstance(v, str) else json.dumps(v, default=str))
                    for k, v in data.items()}
    path = kw["url"][len(BASE):]
    return client.open(path, method=kw["method"], headers=headers,
                       query_string=_query(kw.get("params")), data=data)


def _fuzz_operation(client: FlaskClient, op: Any, ids: dict[str, int], examples: int,
                    failures: list[str]) -> int:
    """Run the operation's strategies; append a line per 500; return the cases sent."""
    sent = 0
    pinned = {p: ids[p] for p in ids if "{" + p + "}" in op.path}
    strategies = [op.as_strategy(generation_mode=m) for m in MODES]
    if pinned:
        strategies.append(op.as_strategy(generation_mode=GenerationMode.POSITIVE,
                                         path_parameters=pinned))

    @settings(max_examples=examples * len(strategies), deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies))
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        resp = _send(client, case)
        if resp.status_code >= 500 and resp.status_code != 503:
            failures.append(f"{resp.status_code} {case.method} {case.formatted_path} "
                            f"query={case.query!r} body={str(case.body)[:200]!r} → "
                            f"{resp.get_data(as_text=True)[:200]!r}")

    run()
    return sent


def test_no_operation_of_the_api_answers_500(app: Any, web_db: WebDB) -> None:
    clients = {role: new_client(app, role) for role, _ in ROLES}
    doc = clients["admin"].get("/api/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 40, "the OpenAPI document lost operations"
    failures: list[str] = []
    ids = _known_ids(web_db)
    t0 = time.perf_counter()
    sent = sum(_fuzz_operation(clients[role], op, ids, n, failures)
               for role, n in ROLES for op in operations)
    elapsed = time.perf_counter() - t0
    print(f"fuzz: {len(operations)} operations, {sent} requests, {elapsed:.1f} s")
    assert not failures, "HTTP 500 from the API:\n" + "\n".join(failures[:40])
