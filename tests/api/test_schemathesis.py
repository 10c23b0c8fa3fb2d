"""Property-based API fuzzing from the OpenAPI spec: no input makes the server fail (5xx)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.conftest import Service

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def api_schema(service: Service):
    # The streaming and upload endpoints are fuzzed too; only the workflow writes that can
    # archive the sample articles are left out (they are covered by the lifecycle test).
    return schemathesis.openapi.from_url(f"{service.base_url}/openapi.json").exclude(
        path_regex=r"/v1/articles/\{article_id\}/(archive|rollback|publish)$")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case, service: Service) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {service.key('admin')}"}
    response = case.call(base_url=service.base_url, timeout=60)
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])
