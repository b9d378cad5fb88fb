"""The JSON API: layers, incidents, aggregates, grid plans, the planner's analyses,
Open311 GeoReport v2 and the OpenAPI document. Requests are parsed by the schemas of
:mod:`web.api.schemas` (:mod:`web.api.parsing`); helpers shared by the blueprints live in
:mod:`web.api.common`. Blueprints never import each other."""
