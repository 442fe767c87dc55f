"""The admin's Open311-key, role-assignment and token forms go through the audited services
(issue 12.9): each write leaves the audit row the command line and API leave."""

import pytest

from shequ.accounts.models import ApiToken, Assignment, User
from shequ.accounts.services import api_token_issue
from shequ.core.models import AuditEvent
from shequ.geo.models import Region
from shequ.open311.keys import api_key_authenticate
from shequ.open311.models import ApiKey

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


# Open311 keys ---------------------------------------------------------------------------------


def test_creating_a_key_in_the_admin_is_audited(client_as):
    admin = client_as("admin")
    response = admin.post(
        "/admin/open311/apikey/add/",
        {"name": "city-crm", "contact": "市 12345", "rate_limit": "120"},
        follow=True,
    )
    assert response.status_code == 200
    row = ApiKey.objects.get(name="city-crm")
    event = AuditEvent.objects.get(action="open311.key_create")
    assert event.object_id == str(row.pk) and event.actor.username == "admin"
    assert event.details["rate_limit"] == 120


def test_changing_a_key_in_the_admin_is_audited(client_as):
    admin = client_as("admin")
    admin.post("/admin/open311/apikey/add/", {"name": "crm", "rate_limit": "60"})
    row = ApiKey.objects.get(name="crm")
    response = admin.post(
        f"/admin/open311/apikey/{row.pk}/change/",
        {"contact": "新联系人", "rate_limit": "30", "can_post_updates": "on"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.rate_limit, row.can_post_updates, row.contact) == (30, True, "新联系人")
    event = AuditEvent.objects.get(action="open311.key_update")
    assert event.details["before"] == {"rate_limit": 60, "can_post_updates": False}


def test_a_bad_rate_limit_is_a_field_error_in_the_admin(client_as):
    admin = client_as("admin")
    response = admin.post("/admin/open311/apikey/add/", {"name": "crm", "rate_limit": "0"})
    assert response.status_code == 200
    assert "每分钟请求上限应为" in response.content.decode()
    assert not ApiKey.objects.exists()
    assert "open311.key_create" not in actions()


def test_revoking_keys_in_the_admin_is_audited(client_as):
    admin = client_as("admin")
    response = admin.post("/admin/open311/apikey/add/", {"name": "crm", "rate_limit": "60"})
    row = ApiKey.objects.get(name="crm")
    plaintext = None
    for message in response.wsgi_request._messages:
        if "仅显示" in str(message):
            plaintext = str(message).rsplit("：", 1)[-1].strip()
    assert plaintext and api_key_authenticate(plaintext) == row
    admin.post("/admin/open311/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    assert api_key_authenticate(plaintext) is None
    assert actions().count("open311.key_revoke") == 1
    # revoking again writes nothing more
    admin.post("/admin/open311/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    assert actions().count("open311.key_revoke") == 1


# Role assignments -----------------------------------------------------------------------------


def user_form(user: User, rows: list[dict]) -> dict:
    """The admin's change form for `user` with its assignment inline rows."""
    data = {
        "username": user.username,
        "full_name": user.full_name,
        "email": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "assignments-TOTAL_FORMS": str(len(rows)),
        "assignments-INITIAL_FORMS": str(sum(1 for r in rows if r.get("id"))),
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"assignments-{i}-{key}"] = value
        data[f"assignments-{i}-user"] = str(user.pk)
    return data


@pytest.fixture
def newcomer(db):
    return User.objects.create_user(username="newcomer", password="x", full_name="新网格员")


def test_granting_a_role_in_the_admin_is_audited(client_as, newcomer, world):
    grid = Region.objects.get(code=world["grid_a"])
    response = client_as("admin").post(
        f"/admin/accounts/user/{newcomer.pk}/change/",
        user_form(newcomer, [{"role": "grid_worker", "region": str(grid.pk), "is_active": "on"}]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assignment = Assignment.objects.get(user=newcomer)
    assert (assignment.role, assignment.region_id, assignment.is_active) == (
        "grid_worker",
        grid.pk,
        True,
    )
    event = AuditEvent.objects.get(action="accounts.assignment_grant")
    assert event.actor.username == "admin" and event.region_code == world["grid_a"]


def test_ending_and_moving_a_role_in_the_admin_is_audited(client_as, newcomer, world):
    grid_a = Region.objects.get(code=world["grid_a"])
    grid_b = Region.objects.get(code=world["grid_b"])
    admin = client_as("admin")
    admin.post(
        f"/admin/accounts/user/{newcomer.pk}/change/",
        user_form(newcomer, [{"role": "grid_worker", "region": str(grid_a.pk), "is_active": "on"}]),
    )
    assignment = Assignment.objects.get(user=newcomer)
    # moved to grid B: the old one ends, the new one is granted
    admin.post(
        f"/admin/accounts/user/{newcomer.pk}/change/",
        user_form(
            newcomer,
            [
                {
                    "id": str(assignment.pk),
                    "role": "grid_worker",
                    "region": str(grid_b.pk),
                    "is_active": "on",
                }
            ],
        ),
    )
    assert actions()[-2:] == ["accounts.assignment_revoke", "accounts.assignment_grant"]
    active = Assignment.objects.get(user=newcomer, is_active=True)
    assert active.region_id == grid_b.pk
    # unticking 有效 ends it
    admin.post(
        f"/admin/accounts/user/{newcomer.pk}/change/",
        user_form(
            newcomer,
            [{"id": str(active.pk), "role": "grid_worker", "region": str(grid_b.pk)}],
        ),
    )
    assert not Assignment.objects.filter(user=newcomer, is_active=True).exists()
    assert actions()[-1] == "accounts.assignment_revoke"


def test_an_invalid_assignment_is_a_field_error(client_as, newcomer, world):
    city = Region.objects.get(code=world["city"])
    response = client_as("admin").post(
        f"/admin/accounts/user/{newcomer.pk}/change/",
        user_form(newcomer, [{"role": "grid_worker", "region": str(city.pk), "is_active": "on"}]),
    )
    assert response.status_code == 200  # the form again, with the problem
    assert not Assignment.objects.filter(user=newcomer).exists()
    assert "accounts.assignment_grant" not in actions()


# API tokens -----------------------------------------------------------------------------------


def test_revoking_a_token_in_the_admin_is_audited(client_as, persona):
    token, _plaintext = api_token_issue(user=persona("grid"), name="phone")
    admin = client_as("admin")
    assert admin.get("/admin/accounts/apitoken/add/").status_code == 403
    admin.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="accounts.token_revoke")
    assert event.details["token"] == token.prefix
    assert ApiToken.objects.filter(pk=token.pk).exists()  # kept for the record


# Configuration records and users (issue 13.2: no admin write skips the audited services) ------


def test_a_calendar_day_added_in_the_admin_is_audited_and_moves_the_calendar(client_as):
    from shequ.core.calendar import get_calendar
    from shequ.core.models import CalendarDay

    admin = client_as("admin")
    response = admin.post(
        "/admin/core/calendarday/add/",
        {"date": "2031-05-06", "is_workday": "", "note": "地方调休"},
    )
    assert response.status_code == 302
    day = CalendarDay.objects.get(date="2031-05-06")
    event = AuditEvent.objects.get(action="config.created")
    assert event.object_id == str(day.pk) and event.details["model"] == "core.calendarday"
    assert get_calendar().is_workday(day.date) is False


def test_changing_a_property_company_names_the_fields_not_their_values(client_as):
    from shequ.property.models import PropertyCompany

    company = PropertyCompany.objects.create(name="云阳物业", service_phone="0511-86000000")
    admin = client_as("admin")
    response = admin.post(
        f"/admin/property/propertycompany/{company.pk}/change/",
        {"name": "云阳物业", "service_phone": "0511-86111111", "region_code": ""},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="config.changed")
    assert event.details["fields"] == ["service_phone"]
    assert "86111111" not in str(event.details)


def test_the_admins_bulk_delete_goes_through_the_service(client_as):
    from shequ.core.models import CalendarDay

    days = [CalendarDay.objects.create(date=f"2031-10-0{d}", is_workday=False) for d in (1, 2)]
    admin = client_as("admin")
    admin.post(
        "/admin/core/calendarday/",
        {"action": "delete_selected", "_selected_action": [d.pk for d in days], "post": "yes"},
    )
    assert not CalendarDay.objects.filter(pk__in=[d.pk for d in days]).exists()
    assert actions().count("config.deleted") == 2


def test_a_refused_config_change_writes_nothing(client_as):
    from shequ.core.models import CalendarDay

    before = CalendarDay.objects.count()
    admin = client_as("admin")
    response = admin.post("/admin/core/calendarday/add/", {"date": "not a date", "note": "x"})
    assert response.status_code == 200  # the form with its field errors
    assert "errorlist" in response.content.decode()
    assert CalendarDay.objects.count() == before
    assert "config.created" not in actions()


def test_granting_staff_rights_in_the_admin_is_an_audited_security_change(client_as, persona):
    target = persona("resident")
    admin = client_as("admin")
    page = admin.get(f"/admin/accounts/user/{target.pk}/change/")
    assert page.status_code == 200
    data = {
        "username": target.username,
        "full_name": target.full_name,
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    inline_prefix = [
        line for line in page.content.decode().split('name="') if "-TOTAL_FORMS" in line[:40]
    ]
    if inline_prefix:  # the inline's real prefix, whatever the related name
        prefix = inline_prefix[0].split("-TOTAL_FORMS")[0]
        initial = Assignment.objects.filter(user=target).count()
        for key in list(data):
            if key.startswith("assignments-"):
                data[key.replace("assignments", prefix)] = data.pop(key)
        data[f"{prefix}-TOTAL_FORMS"] = str(initial)
        data[f"{prefix}-INITIAL_FORMS"] = str(initial)
        for i, row in enumerate(Assignment.objects.filter(user=target).order_by("pk")):
            data[f"{prefix}-{i}-id"] = str(row.pk)
            data[f"{prefix}-{i}-user"] = str(target.pk)
            data[f"{prefix}-{i}-role"] = row.role
            data[f"{prefix}-{i}-region"] = str(row.region_id or "")
            data[f"{prefix}-{i}-property_company"] = str(row.property_company_id or "")
            if row.is_active:
                data[f"{prefix}-{i}-is_active"] = "on"
    response = admin.post(f"/admin/accounts/user/{target.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.is_staff
    event = AuditEvent.objects.get(action="accounts.user_changed")
    assert event.object_id == str(target.pk)
    assert "is_staff" in event.details["security"]


def test_users_are_deactivated_not_deleted_and_tokens_are_read_only(client_as, persona):
    target = persona("resident")
    token, _plaintext = api_token_issue(user=target, name="phone")
    admin = client_as("admin")
    assert admin.get(f"/admin/accounts/user/{target.pk}/delete/").status_code == 403
    response = admin.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"name": "changed"})
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.name == "phone"
