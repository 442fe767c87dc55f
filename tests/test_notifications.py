"""The notification centre: in-app rows, SMS/WeChat through one adapter interface (logging by
default, never a plaintext number), once per channel; the page and the API."""

import pytest
from django.test import override_settings

from shequ.notifications import backends
from shequ.notifications.models import Delivery, Notification
from shequ.notifications.services import notification_deliver, notify, notify_bulk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_backends():
    backends.backend_for.cache_clear()
    yield
    backends.backend_for.cache_clear()


def test_notify_creates_one_row_per_recipient(persona):
    grid = persona("grid")
    rows = notify(recipients=[grid, grid.pk, None], kind="test", title="标题", body="内容")
    assert len(rows) == 1 and rows[0].recipient == grid and not rows[0].is_read
    assert notify(recipients=[], kind="x", title="y") == []


def test_sms_through_the_logging_backend_masks_the_number(persona, caplog):
    grid = persona("grid")
    with caplog.at_level("INFO", logger="shequ.notifications"):
        rows = notify(recipients=[grid], kind="urgent", title="紧急", channels=("sms", "wechat"))
    assert set(Delivery.objects.values_list("channel", "status")) == {
        ("sms", "sent"),
        ("wechat", "sent"),
    }
    assert "199****0004" in caplog.text and "19900000004" not in caplog.text
    # Delivering again (a retried task) sends nothing twice.
    assert notification_deliver(notification_ids=[rows[0].pk], channel="sms") == 0
    assert Delivery.objects.filter(channel="sms").count() == 1


def test_recipient_without_mobile_is_skipped(persona):
    user = persona("auditor")
    user.mobile, user.mobile_hash = "", None
    user.save(update_fields=["mobile", "mobile_hash"])
    notify(recipients=[user], kind="x", title="y", channels=("sms",))
    assert Delivery.objects.get().status == "skipped"


class FailingBackend(backends.Backend):
    def send(self, *, recipient, title, body, url):
        raise backends.DeliveryError("gateway down")


@override_settings(SHEQU_SMS_BACKEND="tests.test_notifications.FailingBackend")
def test_a_failing_gateway_is_recorded(persona):
    notify(recipients=[persona("grid")], kind="x", title="y", channels=("sms",))
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "gateway down" in delivery.detail
    assert Notification.objects.count() == 1  # the in-app notice stays


def test_notify_bulk(persona):
    count = notify_bulk(
        [
            {"recipients": [persona("grid").pk, persona("grid2").pk], "kind": "a", "title": "一"},
            {"recipients": [persona("grid").pk], "kind": "b", "title": "二", "url": "/x/"},
        ]
    )
    assert count == 3 and Notification.objects.filter(recipient=persona("grid")).count() == 2


def test_page_lists_and_marks_read(client_as, persona, django_assert_max_num_queries):
    grid = persona("grid")
    for i in range(5):
        notify(recipients=[grid], kind="k", title=f"消息{i}", url="/cases/inbox/")
    notify(recipients=[persona("grid2")], kind="k", title="别人的消息")
    client = client_as("grid")
    with django_assert_max_num_queries(6):
        body = client.get("/notifications/").content.decode()
    assert "消息4" in body and "别人的消息" not in body and "5 条未读" in body
    first = Notification.objects.filter(recipient=grid).first()
    client.post(f"/notifications/{first.pk}/read/")
    first.refresh_from_db()
    assert first.is_read
    # Someone else's notification cannot be marked.
    other = Notification.objects.get(title="别人的消息")
    client.post(f"/notifications/{other.pk}/read/")
    other.refresh_from_db()
    assert not other.is_read
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=grid, read_at__isnull=True).exists()


def test_api(api_client_as, persona):
    notify(recipients=[persona("grid")], kind="k", title="API 消息")
    client = api_client_as("grid")
    data = client.get("/api/v1/notifications").json()
    assert data["unread"] == 1 and data["items"][0]["title"] == "API 消息"
    note_id = data["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{note_id}/read").json()["marked"] == 1
    assert client.get("/api/v1/notifications?unread_only=true").json()["items"] == []
    # someone else's notification does not exist for grid2 (tests/test_url_scope.py)
    assert api_client_as("grid2").post(f"/api/v1/notifications/{note_id}/read").status_code == 404


def test_navigation_entry(client_as):
    assert "通知" in client_as("resident").get("/").content.decode()
