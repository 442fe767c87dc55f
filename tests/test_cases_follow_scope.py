"""Following a case (我也遇到) is scoped (issue 12, requirement 2).

A resident follows only their own grid's cases and their community's public cases; staff only
within their scope; anything else is a 404 (page and API), like every lookup outside the scope.
A follower's detail shows the public fields only: no grid, and for a sensitive group (民生诉求,
矛盾纠纷) no coordinates or handling unit either.
"""

import pytest
from django.urls import reverse

from shequ.cases import access, services
from shequ.cases.models import CaseFollow
from shequ.geo.models import Region
from tests.support.cases import photo_bytes, point_in, report
from tests.support.factories import make_resident_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


def first_grid(prefix: str) -> str:
    return (
        Region.objects.filter(code__startswith=prefix, level="grid")
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )


@pytest.fixture
def elsewhere(world):
    """A resident of a grid in another township and their 养老服务 (sensitive) case there."""
    grid = first_grid(world["other_township"])
    user, _person = make_resident_user("far_resident", grid, name="钱远方")
    case = report(user, "0902", grid=grid, description="楼上独居老人需要助餐服务，王奶奶家")
    return case


@pytest.fixture
def neighbour(world):
    """Another resident of grid A (the demo resident's grid)."""
    user, _person = make_resident_user("neighbour", world["grid_a"], name="孙邻居")
    return user


def follow_api(api_client_as, who: str, case):
    return api_client_as(who).post(f"/api/v1/cases/{case.pk}/follow")


def follow_page(client_as, who: str, case):
    return client_as(who).post(reverse("case-follow", args=[case.pk]))


# --- refused: 404, and the detail stays closed ----------------------------------------------


def test_resident_cannot_follow_a_case_in_another_township(
    api_client_as, client_as, persona, elsewhere
):
    response = follow_api(api_client_as, "resident", elsewhere)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert follow_page(client_as, "resident", elsewhere).status_code == 404
    assert not CaseFollow.objects.filter(case=elsewhere).exists()
    detail = api_client_as("resident").get(f"/api/v1/cases/{elsewhere.pk}")
    assert detail.status_code == 404
    body = detail.content.decode()
    assert str(elsewhere.lat)[:7] not in body and elsewhere.region_code not in body
    assert client_as("resident").get(reverse("case-detail", args=[elsewhere.pk])).status_code == 404


def test_grid_worker_cannot_follow_another_grids_case(api_client_as, client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    assert follow_api(api_client_as, "grid2", case).status_code == 404
    assert follow_page(client_as, "grid2", case).status_code == 404
    assert not CaseFollow.objects.filter(case=case).exists()
    assert api_client_as("grid2").get(f"/api/v1/cases/{case.pk}").status_code == 404


def test_resident_cannot_follow_a_sensitive_case_of_another_grid(api_client_as, persona, world):
    """Sensitive cases are not public: only a neighbour in the same grid may join one."""
    user, _person = make_resident_user("grid_b_resident", world["grid_b"], name="周乙")
    case = report(user, "0902", grid=world["grid_b"])
    assert follow_api(api_client_as, "resident", case).status_code == 404


def test_the_service_refuses_too(persona, elsewhere):
    from shequ.core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        services.case_follow(case=elsewhere, actor=persona("resident"))
    with pytest.raises(NotFoundError):
        services.case_follow(case=elsewhere, actor=persona("grid"))


def test_an_existing_follow_from_elsewhere_shows_only_public_fields(
    api_client_as, persona, elsewhere
):
    """A follow made before the rule (or by a merge) never widens what the detail shows."""
    CaseFollow.objects.create(case=elsewhere, user=persona("resident"))
    data = api_client_as("resident").get(f"/api/v1/cases/{elsewhere.pk}").json()
    assert data["limited"] is True
    assert data["lat"] is None and data["lng"] is None
    assert data["grid_code"] == "" and data["handler_unit_code"] == ""
    assert data["description"] is None and data["address"] == ""
    assert "王奶奶" not in str(data)


# --- allowed ---------------------------------------------------------------------------------


def test_resident_follows_a_public_case_in_their_community(api_client_as, client_as, world):
    """grid B lies in the demo resident's community: a public (0101) case there may be followed;
    the detail is the public one (coordinates yes, grid no)."""
    user, _person = make_resident_user("grid_b_reporter", world["grid_b"], name="吴乙")
    case = report(user, "0101", grid=world["grid_b"])
    response = follow_api(api_client_as, "resident", case)
    assert response.status_code == 200 and response.json() == {
        "case_id": case.pk,
        "following": True,
    }
    data = api_client_as("resident").get(f"/api/v1/cases/{case.pk}").json()
    assert data["limited"] is True and data["description"] is None
    assert data["lat"] == pytest.approx(case.lat) and data["grid_code"] == ""
    page = client_as("resident").get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "所在网格" not in page and "您关注了这个问题" in page


def test_resident_follows_a_sensitive_case_in_their_grid_without_its_place(
    api_client_as, client_as, persona, neighbour, world
):
    case = report(neighbour, "0902", grid=world["grid_a"], description="隔壁李爷爷独居需要助餐")
    services.case_register(case=case, actor=persona("community"))
    services.case_dispatch(case=case, actor=persona("community"), note="联系李爷爷 13912345678")
    case.refresh_from_db()
    assert follow_page(client_as, "resident", case).status_code == 302
    assert CaseFollow.objects.filter(case=case, user=persona("resident")).exists()

    data = api_client_as("resident").get(f"/api/v1/cases/{case.pk}").json()
    assert data["limited"] is True
    assert data["lat"] is None and data["lng"] is None
    assert data["grid_code"] == "" and data["handler_unit_code"] == ""
    assert data["handler_company"] is None and data["address"] == ""
    assert data["description"] is None and data["contact_name"] == ""
    assert all(event["note"] == "" and event["actor_name"] == "" for event in data["timeline"])
    text = str(data)
    assert "李爷爷" not in text and "13912345678" not in text and case.region_code not in text

    page = client_as("resident").get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "李爷爷" not in page and "所在网格" not in page and 'id="case-map"' not in page
    grid_name = Region.objects.get(code=case.region_code).name
    assert grid_name not in page


def test_staff_follow_within_their_scope(api_client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    assert follow_api(api_client_as, "community", case).status_code == 200
    assert follow_api(api_client_as, "grid", case).status_code == 200
    data = api_client_as("grid").get(f"/api/v1/cases/{case.pk}").json()
    assert data["limited"] is False and data["grid_code"] == case.region_code


def test_followable_cases_is_one_query(persona, world, django_assert_num_queries):
    user = persona("resident")
    list(access.followable_cases(user)[:1])  # warm the assignment cache
    with django_assert_num_queries(1):
        list(access.followable_cases(user)[:5])


# --- the other lookups by id -------------------------------------------------------------------


def test_merge_target_outside_the_dispatch_scope_is_not_found(
    api_client_as, persona, elsewhere, world
):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    for into in (elsewhere.code, str(elsewhere.pk)):
        response = api_client_as("community").post(
            f"/api/v1/cases/{case.pk}/transitions",
            {"action": "merge", "into": into},
            content_type="application/json",
        )
        assert response.status_code == 400, response.content
        assert response.json()["details"][0]["field"] == "into"
    assert access.find_merge_target(persona("community"), elsewhere.code) is None
    assert access.find_merge_target(persona("city"), elsewhere.code) == elsewhere
    assert access.find_merge_target(persona("community"), "9" * 40) is None


def test_photos_of_a_followed_case_stay_private(client_as, api_client_as, persona, world):
    from shequ.cases.models import CasePhoto

    user, _person = make_resident_user("photo_reporter", world["grid_b"], name="郑乙")
    case = report(user, "0101", grid=world["grid_b"])
    assert follow_api(api_client_as, "resident", case).status_code == 200
    photo = CasePhoto.objects.filter(case=case).first()
    assert client_as("resident").get(reverse("case-photo", args=[photo.pk])).status_code == 404
    assert (
        api_client_as("resident").get(f"/api/v1/cases/{case.pk}/photos/{photo.pk}").status_code
        == 404
    )


def test_duplicate_suggestions_offer_only_followable_cases(api_client_as, client_as, world):
    """A sensitive case of another grid is not suggested (its distance would place it); a
    public one of the community is."""

    user, _person = make_resident_user("dup_reporter", world["grid_b"], name="冯乙")
    lat, lng = point_in(world["grid_b"])
    sensitive = report(user, "0902", lat=lat, lng=lng)
    public = report(user, "0101", lat=lat, lng=lng)
    url = "/api/v1/cases/duplicates?category={}&lat={}&lng={}"
    found = api_client_as("resident").get(url.format("0902", lat, lng)).json()
    assert found == []
    found = api_client_as("resident").get(url.format("0101", lat, lng)).json()
    assert [d["case_id"] for d in found] == [public.pk]
    assert [
        d["case_id"] for d in api_client_as("grid2").get(url.format("0902", lat, lng)).json()
    ] == [sensitive.pk]
    body = (
        client_as("resident")
        .get(reverse("cases-report-duplicates"), {"category": "0902", "lat": lat, "lng": lng})
        .content.decode()
    )
    assert reverse("case-follow", args=[sensitive.pk]) not in body


def test_followers_notifications_carry_only_the_public_text(
    persona, neighbour, world, django_capture_on_commit_callbacks
):
    """The handler's note reaches the reporter; a follower of a sensitive case gets the title
    only, a follower of a public case the note with phone numbers masked."""
    from shequ.notifications.models import Notification

    note = "已联系李爷爷 13912345678，明天起每天送餐"
    for category, expected in (("0902", ""), ("0101", "已联系李爷爷 139****5678，明天起每天送餐")):
        case = report(neighbour, category, grid=world["grid_a"])
        services.case_follow(case=case, actor=persona("resident"))
        if case.status == "reported":
            case = services.case_register(case=case, actor=persona("community"))
        if case.status == "registered":
            case = services.case_dispatch(case=case, actor=persona("community"))
        handler = persona("community") if case.handler_type == "community" else persona("grid")
        case = services.case_accept(case=case, actor=handler)
        with django_capture_on_commit_callbacks(execute=True):
            services.case_handle(case=case, actor=handler, note=note, photos=[photo_bytes()])
        mine = Notification.objects.get(
            recipient=persona("resident"), kind="case_progress", object_id=str(case.pk)
        )
        theirs = Notification.objects.get(
            recipient=neighbour, kind="case_progress", object_id=str(case.pk)
        )
        assert theirs.body == note
        assert mine.body == expected, category
