"""Points API: tasks, claim, me, store items, redeem (Idempotency-Key, 409, 402), OpenAPI."""

import pytest

from shequ.points import ledger
from shequ.points.models import Claim, Order
from tests.support.factories import give_points

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exact_ledger")]


def post(client, url, body=None, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, body or {}, content_type="application/json", headers=headers)


def test_openapi_lists_the_points_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/points/tasks",
        "/api/v1/points/tasks/{task_id}/claim",
        "/api/v1/points/me",
        "/api/v1/points/store/items",
        "/api/v1/points/store/items/{item_id}/redeem",
    ):
        assert path in paths


def test_tasks_for_a_resident_and_for_staff(api_client_as, resident, make_task):
    task = make_task(title="楼道清理")
    body = api_client_as("resident").get("/api/v1/points/tasks").json()
    assert [t["id"] for t in body] == [task.pk]
    assert body[0]["status"] == "published" and body[0]["points_per_person"] == 10
    staff = api_client_as("grid").get("/api/v1/points/tasks").json()
    assert [t["id"] for t in staff] == [task.pk]
    assert api_client_as("grid2").get("/api/v1/points/tasks").json() == []
    assert api_client_as("grid2").get(f"/api/v1/points/tasks/{task.pk}").status_code == 404


def test_claim_and_its_errors(api_client_as, resident, make_task, volunteer):
    task = make_task(quota=1)
    client = api_client_as("resident")
    first = post(client, f"/api/v1/points/tasks/{task.pk}/claim")
    assert first.status_code == 201 and first.json()["status"] == "claimed"
    again = post(client, f"/api/v1/points/tasks/{task.pk}/claim")
    assert again.status_code == 409 and again.json()["code"] == "already_claimed"
    assert "已认领" in again.json()["message"]
    from django.test import Client

    other = Client()
    other.force_login(volunteer[0])
    full = post(other, f"/api/v1/points/tasks/{task.pk}/claim")
    assert full.status_code == 409 and full.json()["code"] == "task_full"
    assert Claim.objects.count() == 1
    assert post(client, "/api/v1/points/tasks/999999/claim").status_code == 404


def test_check_in_wrong_code_is_400(api_client_as, resident, make_task):
    task = make_task()
    client = api_client_as("resident")
    post(client, f"/api/v1/points/tasks/{task.pk}/claim")
    bad = post(client, f"/api/v1/points/tasks/{task.pk}/check", {"code": "x"})
    assert bad.status_code == 400 and bad.json()["code"] == "wrong_code"
    ok = post(client, f"/api/v1/points/tasks/{task.pk}/check", {"code": task.checkin_code})
    assert ok.status_code == 200 and ok.json()["status"] == "checked_in"


def test_me_shows_balances_and_entries(api_client_as, resident):
    _user, person = resident
    give_points(person, 30)
    give_points(person, 12)
    body = api_client_as("resident").get("/api/v1/points/me").json()
    assert body["volunteer"] == 42 and body["party"] == 0
    assert body["name"] == "刘*民"
    assert [e["amount"] for e in body["entries"]] == [12, 30]
    assert sum(e["amount"] for e in body["entries"]) == body["volunteer"]
    paged = api_client_as("resident").get("/api/v1/points/me?limit=1").json()
    assert len(paged["entries"]) == 1 and paged["next_before"] == paged["entries"][0]["id"]


def test_me_without_registry_record_is_404(api_client_as):
    response = api_client_as("grid").get("/api/v1/points/me")
    assert response.status_code == 404 and response.json()["code"] == "no_resident_record"


def test_store_items(api_client_as, resident, make_item):
    item = make_item(name="香皂", price=5)
    body = api_client_as("resident").get("/api/v1/points/store/items").json()
    assert body == [
        {
            "id": item.pk,
            "name": "香皂",
            "category": "",
            "description": "",
            "price": 5,
            "stock": 10,
            "monthly_limit": 2,
            "used_this_month": 0,
            "photo_url": None,
        }
    ]


class TestRedeem:
    def test_redeem_returns_the_order(self, api_client_as, resident, make_item, store):
        _user, person = resident
        give_points(person, 100)
        item = make_item(price=30)
        response = post(api_client_as("resident"), f"/api/v1/points/store/items/{item.pk}/redeem")
        assert response.status_code == 201
        body = response.json()
        assert (
            body["points"] == 30 and body["status"] == "pending" and len(body["pickup_code"]) == 6
        )
        assert ledger.resident_account(person).balance == 70
        assert ledger.store_account(store).balance == 30

    def test_retried_redemption_does_not_duplicate(self, api_client_as, resident, make_item):
        _user, person = resident
        give_points(person, 100)
        item = make_item(price=30)
        client = api_client_as("resident")
        url = f"/api/v1/points/store/items/{item.pk}/redeem"
        first = post(client, url, {"quantity": 1}, key="redeem-abc")
        second = post(client, url, {"quantity": 1}, key="redeem-abc")
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second["Idempotent-Replayed"] == "true"
        assert Order.objects.count() == 1
        assert ledger.resident_account(person).balance == 70
        item.refresh_from_db()
        assert item.stock == 9
        # A new key is a new purchase.
        third = post(client, url, {"quantity": 1}, key="redeem-def")
        assert third.status_code == 201 and Order.objects.count() == 2

    def test_retry_reaching_the_service_returns_the_same_order(
        self, api_client_as, resident, make_item
    ):
        """Even if the middleware's record were lost, the order's request key stops a rebuy."""
        from shequ.core.models import IdempotencyRecord

        _user, person = resident
        give_points(person, 100)
        item = make_item(price=30)
        client = api_client_as("resident")
        url = f"/api/v1/points/store/items/{item.pk}/redeem"
        first = post(client, url, {}, key="k-1")
        IdempotencyRecord.objects.all().delete()
        second = post(client, url, {}, key="k-1")
        assert second.json()["id"] == first.json()["id"]
        assert Order.objects.count() == 1 and ledger.resident_account(person).balance == 70

    def test_short_balance_is_402_with_a_code(self, api_client_as, resident, make_item):
        _user, person = resident
        give_points(person, 10)
        item = make_item(price=30)
        response = post(api_client_as("resident"), f"/api/v1/points/store/items/{item.pk}/redeem")
        assert response.status_code == 402
        assert response.json()["code"] == "insufficient_points"
        assert "余额不足" in response.json()["message"]
        assert not Order.objects.exists() and ledger.resident_account(person).balance == 10

    def test_out_of_stock_and_over_limit_are_409(self, api_client_as, resident, make_item):
        _user, person = resident
        give_points(person, 500)
        client = api_client_as("resident")
        scarce = make_item(price=5, initial_stock=1, monthly_limit=5)
        post(client, f"/api/v1/points/store/items/{scarce.pk}/redeem")
        gone = post(client, f"/api/v1/points/store/items/{scarce.pk}/redeem")
        assert gone.status_code == 409 and gone.json()["code"] == "out_of_stock"
        limited = make_item(price=5, initial_stock=10, monthly_limit=1)
        post(client, f"/api/v1/points/store/items/{limited.pk}/redeem")
        over = post(client, f"/api/v1/points/store/items/{limited.pk}/redeem")
        assert over.status_code == 409 and over.json()["code"] == "monthly_limit_reached"
        assert ledger.resident_account(person).balance == 490

    @pytest.mark.parametrize("quantity", [0, -1, 1.5, "two", 21])
    def test_bad_quantity_is_400(self, api_client_as, resident, make_item, quantity):
        _user, person = resident
        give_points(person, 100)
        item = make_item()
        response = post(
            api_client_as("resident"),
            f"/api/v1/points/store/items/{item.pk}/redeem",
            {"quantity": quantity},
        )
        assert response.status_code == 400 and response.json()["code"] == "validation_error"
        assert not Order.objects.exists()

    def test_unknown_item_is_404(self, api_client_as, resident):
        assert (
            post(api_client_as("resident"), "/api/v1/points/store/items/999/redeem").status_code
            == 404
        )

    def test_orders_list(self, api_client_as, resident, make_item):
        _user, person = resident
        give_points(person, 100)
        item = make_item(price=30)
        client = api_client_as("resident")
        post(client, f"/api/v1/points/store/items/{item.pk}/redeem")
        orders = client.get("/api/v1/points/orders").json()
        assert [o["item_name"] for o in orders] == [item.name]
