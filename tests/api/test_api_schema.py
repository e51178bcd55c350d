"""Schemathesis: requests generated from the API's own OpenAPI spec never get a 500.

Driven through Hypothesis directly (the schemathesis pytest plugin does not load under this
pytest); every operation of the spec gets its own generated requests.
"""

from __future__ import annotations

from datetime import date

import pytest
import redis
import schemathesis
from api_world import publish_world
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.server import ApiConfig, create_app

EXAMPLES_PER_OPERATION = 30


@pytest.mark.slow
def test_no_request_from_the_spec_is_a_server_error(
    api_redis: redis.Redis, api_prefix: str
) -> None:
    publish_world(api_redis, api_prefix)
    config = ApiConfig(
        prefix=api_prefix, rate_limit="1000000/minute", today=lambda: date(2026, 11, 29)
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(lambda: api_redis, config))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    statuses: set[int] = set()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case) -> None:
            response = case.call()
            statuses.add(response.status_code)
            assert response.status_code < 500, (case.path, case.query, response.text)
            case.validate_response(response, checks=[not_a_server_error])

        no_server_error()
    assert 200 in statuses and 422 in statuses
