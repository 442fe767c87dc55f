"""Fuzzing Open311 with schemathesis against the project's own description of the endpoint
(/open311/v2/openapi.json), in process (WSGI): no 5xx, and responses conform to the description
(status codes, content types, JSON bodies). POSTs are fuzzed with a valid key half the time, so
the generated forms reach case_report. Bounded by SHEQU_FUZZ_EXAMPLES (default 25)."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from shequ.wsgi import application
from tests.support.open311 import KEY, make_key

EXAMPLES = int(os.environ.get("SHEQU_FUZZ_EXAMPLES", "25"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

pytestmark = pytest.mark.usefixtures("categories")
schema = schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", application)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Like Django's test Client: a request must not close the test's database connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def open311_key(db):
    return make_key(can_post_updates=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@pytest.mark.parametrize("keyed", [False, True], ids=["as-generated", "valid-key"])
def test_open311_conforms_to_its_description(case, open311_key, keyed):
    if keyed and isinstance(case.body, dict):
        case.body["api_key"] = KEY
    case.call_and_validate(checks=CHECKS)
