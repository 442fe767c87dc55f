"""Fuzzing the JSON API with schemathesis against /api/v1/openapi.json, in process (WSGI):
no 5xx, and every response conforms to the OpenAPI description (status code, content type,
body schema, headers). Bounded: SHEQU_FUZZ_EXAMPLES examples per operation (default 25), a
few minutes in CI. Every operation is fuzzed anonymously and with a bearer token."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from shequ.wsgi import application

EXAMPLES = int(os.environ.get("SHEQU_FUZZ_EXAMPLES", "25"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Like Django's test Client: a request must not close the test's database connection
    (its transaction holds the test data). Raw WSGI calls would, on PostgreSQL."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db, persona):
    from shequ.accounts.services import api_token_issue

    _token, plaintext = api_token_issue(user=persona("community"), name="fuzz")
    return plaintext


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "token"])
def test_api_conforms_to_its_schema(case, bearer, authenticated):
    headers = {"Authorization": f"Bearer {bearer}"} if authenticated else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
