"""Idempotency-Key hardening: covers every creating endpoint, stored responses are encrypted,
records expire and are purged, concurrent retries create one effect (PostgreSQL), and a
successful request is never rolled back because its response is big.

The basic replay / 422 / failed-not-remembered cases are in test_api_conventions.py."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from shequ.accounts.models import ApiToken
from shequ.core import idempotency
from shequ.core.models import IdempotencyRecord

URL = "/api/v1/auth/token"
BODY = {"username": "grid", "password": "shequ-demo"}


def post(client, body, key):
    return client.post(URL, body, content_type="application/json", headers={"Idempotency-Key": key})


def test_every_creating_operation_is_covered(client):
    """Every POST/PUT/PATCH in the OpenAPI description lies under an idempotent prefix — so
    a new app's creating endpoint gets Idempotency-Key without doing anything."""
    schema = client.get("/api/v1/openapi.json").json()
    operations = [
        ("/api/v1" + path if not path.startswith("/api/v1") else path, method.upper())
        for path, item in schema["paths"].items()
        for method in item
        if method.upper() in idempotency.METHODS
    ]
    assert operations
    assert all(idempotency.applies_to(method, path) for path, method in operations)
    assert idempotency.applies_to("POST", "/open311/v2/requests.json")
    assert not idempotency.applies_to("GET", "/api/v1/geo/locate")
    assert not idempotency.applies_to("POST", "/login/")


def test_replayed_response_is_identical_and_stored_encrypted(db, client):
    first = post(client, BODY, "enc-1")
    token = first.json()["token"]
    record = IdempotencyRecord.objects.get(key="enc-1")
    assert token.encode() not in bytes(record.body)  # the bearer token is not in the table
    replay = post(client, BODY, "enc-1")
    assert replay.content == first.content
    assert replay["Content-Type"] == first["Content-Type"]


def test_same_key_on_another_endpoint_is_422(client_as):
    client = client_as("grid")
    assert post(client, BODY, "k").status_code == 201
    other = client.post(
        "/api/v1/auth/token?x=1",
        BODY,
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    assert other.status_code == 422


def test_expired_records_are_ignored_and_purged(db, client, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    post(client, BODY, "old")
    time_machine.shift(timedelta(hours=49))  # SHEQU_IDEMPOTENCY_HOURS = 48
    again = post(client, BODY, "old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert ApiToken.objects.filter(user__username="grid").count() == 2
    post(client, BODY, "other")
    time_machine.shift(timedelta(hours=49))
    assert idempotency.purge_expired() == 2
    assert not IdempotencyRecord.objects.exists()


def test_purge_job_is_a_periodic_task():
    from shequ.core import schedule

    job = {job.name: job for job in schedule.jobs()}["core.purge_idempotency"]
    assert job.every == timedelta(hours=1)


def test_large_or_streaming_success_is_committed_not_rolled_back(db):
    """A 2xx whose body is too big (or streamed) to store still commits its effect; a retry
    gets 'already done' instead of a second effect."""
    factory = RequestFactory()

    def big_view(request):
        IdempotencyRecord.objects.create(client="effect", key=request.path, fingerprint="")
        if "stream" in request.path:
            return StreamingHttpResponse(iter([b"x"]), status=201)
        return HttpResponse(b"x" * (idempotency.MAX_STORED_BODY + 1), status=201)

    middleware = idempotency.IdempotencyMiddleware(big_view)
    for path in ("/api/v1/big", "/api/v1/stream"):
        request = factory.post(
            path, b"{}", content_type="application/json", headers={"Idempotency-Key": path}
        )
        assert middleware(request).status_code == 201
        assert IdempotencyRecord.objects.filter(client="effect", key=path).count() == 1
        retry = factory.post(
            path, b"{}", content_type="application/json", headers={"Idempotency-Key": path}
        )
        replay = middleware(retry)
        assert replay.status_code == 201
        assert json.loads(replay.content)["code"] == "idempotent_replay"
        assert IdempotencyRecord.objects.filter(client="effect", key=path).count() == 1


def test_concurrent_retries_make_one_effect(reseed_after_flush, transactional_db):
    """Two copies of one request at the same moment: one creates, the other replays."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections (PostgreSQL); SQLite serialises writers")
    barrier = threading.Barrier(4)
    responses = []

    def send():
        from django.db import connections

        try:
            barrier.wait()
            responses.append(post(Client(), BODY, "race"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in responses) == [201, 201, 201, 201]
    assert len({r.json()["token"] for r in responses}) == 1
    assert ApiToken.objects.filter(user__username="grid").count() == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 3


def test_openapi_documents_the_header_and_the_error_shape(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    token = schema["paths"]["/api/v1/auth/token"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in token["parameters"])
    assert {"400", "409", "422", "429"} <= set(token["responses"])
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message", "details"]
    me = schema["paths"]["/api/v1/auth/me"]["get"]
    assert ("401" in me["responses"] and "parameters" not in me) or all(
        p["name"] != "Idempotency-Key" for p in me.get("parameters", [])
    )


def test_sqlite_lock_timeout_is_503_busy(db, monkeypatch):
    """On SQLite a creating request that cannot get the write lock in time did nothing: it is
    answered 503 with Retry-After (clients retry), not 500."""
    from django.db import OperationalError

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock")

    class Locked:
        def __enter__(self):
            raise OperationalError("database is locked")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(idempotency.transaction, "atomic", lambda *a, **k: Locked())
    response = post(Client(), BODY, "busy-1")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert json.loads(response.content)["code"] == "busy"
    assert not ApiToken.objects.exists()
