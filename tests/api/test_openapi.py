"""The OpenAPI document of ``/api/v1``: a valid OpenAPI 3.1 document (openapi-spec-validator),
describing every route the resource serves and nothing it does not, served without a login.
(Every answer of the other tests is checked against its schemas: api_support.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openapi_spec_validator import validate

from tests.api.api_support import ApiWeb

SAMPLES = {"number": "1000", "id": "1"}


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    yield web
    web.stop()


def served(api: ApiWeb) -> dict:
    answer = api.get("/openapi.json", auth=None)
    assert answer.status == 200
    return answer.json


def test_the_document_is_valid_openapi_3_1(api: ApiWeb) -> None:
    document = served(api)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]


def test_every_route_is_described_and_nothing_else(api: ApiWeb) -> None:
    document = served(api)
    described = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    resource = api.site.resource.getStaticEntity(b"api").getStaticEntity(b"v1")
    table = {(route.method, route.path) for route in resource.api.routes}  # what it serves
    assert described == table
    assert len(table) == 45


def test_every_described_operation_is_served(api: ApiWeb) -> None:
    """Ask for each operation of the document: none is an unknown route or method."""
    document = served(api)
    for path, item in document["paths"].items():
        concrete = path
        for name, value in SAMPLES.items():
            concrete = concrete.replace("{" + name + "}", value)
        if concrete.startswith("/callers/"):
            concrete = concrete.replace("/callers/1000", "/callers/0812345679")
        for method in item:
            if method == "get":
                answer = api.get(concrete)
            else:
                answer = api.post(concrete, {})
            assert answer.status not in (404, 405) or answer.error not in (
                "not_found",
                "method_not_allowed",
            ), (method, path, answer.json)


def test_operations_say_who_may_call_them(api: ApiWeb) -> None:
    document = served(api)
    paths = document["paths"]
    assert paths["/openapi.json"]["get"]["security"] == []
    assert "security" not in paths["/devices"]["get"]  # the document's default: basic
    dial = paths["/devices/{number}/dial"]["post"]
    assert {"401", "403", "409", "413", "415", "429"} <= set(dial["responses"])
    body = dial["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["to"] and body["additionalProperties"] is False
    advance = paths["/time/advance"]["post"]["requestBody"]["content"]["application/json"]
    assert advance["schema"]["properties"]["seconds"]["maximum"] == 86_400
    devices = paths["/devices"]["get"]["parameters"]
    assert {p["name"] for p in devices} == {"kind", "state"}
    (number,) = paths["/devices/{number}"]["get"]["parameters"]
    assert (number["in"], number["required"]) == ("path", True)


def test_a_path_outside_the_document_is_404(api: ApiWeb) -> None:
    answer = api.get("/devices/1000/state")
    assert (answer.status, answer.error) == (404, "not_found")
