"""The OpenAPI document, generated from the route table and the marshmallow
schemas (apispec) — never written by hand, so it cannot drift from validation."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from rarpa.service.schemas import Problem

PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def spec_for(routes) -> dict:
    """The document for these routes (web.api.ROUTES)."""
    spec = APISpec(
        title="RARPA Record API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Progress records for learners with SEND. Errors are application/problem+json."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=Problem)
    problem = {"content": {"application/problem+json": {"schema": "Problem"}}}
    paths: dict[str, dict] = {}
    for r in routes:
        path = PARAM.sub(r"{\1}", r.rule)
        op: dict = {"summary": r.summary, "responses": {}}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in PARAM.findall(r.rule)]
        params += [{"name": n, "in": "query", "required": False, "description": d, "schema": {"type": "string"}}
                   for n, d in r.query.items()]
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": r.body}}}
        ok = {"description": "OK"}
        if r.returns is not None:
            ok["content"] = {"application/json": {"schema": r.returns}}
        op["responses"][str(r.status)] = ok
        if r.rule.endswith("/observations") and r.method == "POST":
            op["responses"]["200"] = {"description": "An exact repeat: nothing new stored", **ok}
        if not r.public:
            op["security"] = [{"bearer": []}]
            for code, text in (("401", "No valid token"), ("403", "Not allowed for your role"),
                               ("404", "Not found or not yours to see")):
                op["responses"][code] = {"description": text, **problem}
        if r.body is not None:
            op["responses"]["422"] = {"description": "Invalid input, per field", **problem}
            op["responses"]["409"] = {"description": "Conflicts with what is recorded", **problem}
        paths.setdefault(path, {})[r.method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=f"/api/v1{path}", operations=operations)
    return spec.to_dict()
