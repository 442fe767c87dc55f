"""API conventions: OpenAPI and docs, JSON errors, health endpoints, Idempotency-Key."""

import pytest

from shequ.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_openapi_and_docs(client, client_as):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/geo/locate" in paths and "/api/v1/auth/token" in paths
    assert client_as("city").get("/api/v1/docs").status_code == 200


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_page_is_chinese_404(client_as):
    response = client_as("grid").get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_healthz_and_readyz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] is True
    ready = client.get("/readyz")
    assert ready.json()["checks"]["database"] is True
    assert ready.json()["checks"]["migrations"] is True


def test_healthz_reports_database_failure(client, monkeypatch):
    from shequ.core import views

    monkeypatch.setattr(views, "_database_ok", lambda: False)
    assert client.get("/healthz").status_code == 503
    assert client.get("/readyz").status_code == 503


class TestIdempotency:
    url = "/api/v1/auth/token"

    def post(self, client, body, key):
        return client.post(
            self.url, body, content_type="application/json", headers={"Idempotency-Key": key}
        )

    def test_replay_returns_the_first_response_without_a_second_effect(self, client):
        body = {"username": "grid", "password": "shequ-demo"}
        first = self.post(client, body, "key-1")
        second = self.post(client, body, "key-1")
        assert first.status_code == second.status_code == 201
        assert first.json()["token"] == second.json()["token"]
        assert second["Idempotent-Replayed"] == "true"
        assert ApiToken.objects.filter(user__username="grid").count() == 1

    def test_same_key_different_body_is_422(self, client):
        self.post(client, {"username": "grid", "password": "shequ-demo"}, "key-2")
        other = self.post(client, {"username": "grid2", "password": "shequ-demo"}, "key-2")
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert ApiToken.objects.count() == 1

    def test_failed_request_is_not_remembered(self, client):
        bad = self.post(client, {"username": "grid", "password": "wrong"}, "key-3")
        assert bad.status_code == 401
        good = self.post(client, {"username": "grid", "password": "shequ-demo"}, "key-3")
        assert good.status_code == 201

    def test_different_callers_do_not_share_keys(self, client, api_client_as):
        body = {"username": "grid", "password": "shequ-demo"}
        first = self.post(client, body, "key-4")
        other = self.post(api_client_as("city"), body, "key-4")
        assert first.json()["token"] != other.json()["token"]

    def test_invalid_key_is_400(self, client):
        response = self.post(client, {"username": "grid", "password": "shequ-demo"}, "x" * 201)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_idempotency_key"


def test_schema_names_are_unique_across_apps():
    """OpenAPI components are keyed by class name: two apps' `MeOut` would overwrite each other."""
    import inspect
    from importlib import import_module

    from django.apps import apps
    from ninja import Schema

    seen: dict[str, str] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("shequ."):
            continue
        try:
            module = import_module(f"{config.name}.api")
        except ModuleNotFoundError:
            continue
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Schema) and obj.__module__ == module.__name__:
                assert name not in seen, f"{name} defined in {seen.get(name)} and {module.__name__}"
                seen[name] = module.__name__


def test_numbers_beyond_integer_range_are_refused_not_500(api_client_as):
    client = api_client_as("grid")
    huge = "6523380421063097520576136334016512"
    response = client.get(f"/api/v1/cases/{huge}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = client.post(f"/api/v1/notifications/{huge}/read", headers={"Idempotency-Key": "k"})
    assert response.status_code == 404
    response = client.get("/api/v1/cases", {"page": huge})
    assert response.status_code == 400 and response.json()["code"] == "number_out_of_range"
    assert client.get("/api/v1/cases", {"page": "1"}).status_code == 200
