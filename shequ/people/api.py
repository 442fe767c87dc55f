"""People API (/api/v1/people/): the same selectors and services as the pages.

Numbers are masked in every response except the reveal endpoint, which needs a reason and is
audited. Lists page with a cursor (`after` = the previous page's `next_cursor`) and a capped
count.
"""

from datetime import date

from django.http import Http404, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from shequ.core.params import ApiDate
from shequ.core.scoping import has_perm
from shequ.geo.models import House
from shequ.people import permissions as P
from shequ.people import selectors as S
from shequ.people import services

API_PREFIX = "/people/"
router = Router(tags=["people"])


class TagOut(Schema):
    code: str
    name: str
    detail: str
    source: str
    start_date: date
    end_date: date | None


class PersonOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date | None
    id_type: str
    id_number: str = Field(description="已脱敏，如 3211**********0012")
    mobile: str = Field(description="已脱敏，如 138****1234")
    landline: str
    ethnicity: str
    political_status: str
    registration_type: str
    region_code: str
    house_id: int | None
    household_id: int | None
    relation_to_head: str
    status: str
    tags: list[TagOut]


class PersonPage(Schema):
    items: list[PersonOut]
    next_cursor: str | None
    count: int
    count_capped: bool
    search_kind: str
    message: str


class ListParams(Schema):
    q: str = Field(default="", max_length=60, description="姓名开头，或完整证件号码/电话号码")
    tag: str = ""
    grid: str = ""
    registration_type: str = ""
    building: int | None = None
    status: str = "active"
    after: str | None = Field(default=None, max_length=200, description="上一页返回的 next_cursor")
    limit: int = Field(default=50, ge=1, le=100)


class PersonIn(Schema):
    name: str = Field(max_length=50)
    id_number: str = Field(max_length=40)
    id_type: str = ""
    gender: str = ""
    birth_date: ApiDate | None = None
    mobile: str = ""
    landline: str = ""
    ethnicity: str = "01"
    political_status: str = "masses"
    registration_type: str = "local"
    emergency_contact_name: str = ""
    emergency_contact_phone: str = ""
    house_id: int | None = Field(default=None, description="现居住房屋；或只给 grid_code")
    grid_code: str = ""
    relation: str = "family"
    start_date: ApiDate | None = None
    is_household_consistent: bool = True
    is_registered: bool = False


class RevealIn(Schema):
    field: str = Field(description="id_number / mobile / landline / emergency_contact_phone")
    reason: str = Field(default="", max_length=500, description="查看理由（必填，写入审计日志）")


class RevealOut(Schema):
    field: str
    value: str


class MoveIn(Schema):
    house_id: int
    relation: str = "family"
    start_date: ApiDate | None = None
    is_household_consistent: bool = True
    is_registered: bool = False


def _out(user, person) -> dict:
    if not hasattr(person, "visible_tags"):
        S.attach_visible_tags(user, [person])
    return {
        "id": person.pk,
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date,
        "id_type": person.id_type,
        "id_number": person.masked_id_number,
        "mobile": person.masked_mobile,
        "landline": person.masked_landline,
        "ethnicity": person.ethnicity,
        "political_status": person.political_status,
        "registration_type": person.registration_type,
        "region_code": person.region_code,
        "house_id": person.house_id,
        "household_id": person.household_id,
        "relation_to_head": person.relation_to_head,
        "status": person.status,
        "tags": [
            {
                "code": t.tag_type.code,
                "name": t.tag_type.name,
                "detail": t.detail,
                "source": t.source,
                "start_date": t.start_date,
                "end_date": t.end_date,
            }
            for t in person.visible_tags
        ],
    }


@router.get("/", response=PersonPage, summary="居民列表与搜索")
def list_people(request, params: Query[ListParams]):
    if not has_perm(request.user, P.VIEW):
        raise Http404
    filters = S.PeopleFilter(
        q=params.q.strip(),
        tag=params.tag,
        grid=params.grid,
        registration_type=params.registration_type,
        building=params.building,
        status=params.status,
    )
    page = S.people_page(request.user, filters, after=params.after, limit=params.limit)
    return {
        "items": [_out(request.user, p) for p in page.rows],
        "next_cursor": page.next_cursor,
        "count": page.count,
        "count_capped": page.count_capped,
        "search_kind": page.search_kind,
        "message": page.message,
    }


@router.get("/{person_id}", response=PersonOut, summary="居民详情（已脱敏）")
def get_person(request, person_id: int):
    return _out(request.user, S.person_for_user(request.user, person_id))


@router.post("/", response={201: PersonOut}, summary="登记居民")
def create_person(request, payload: PersonIn):
    house = House.objects.filter(pk=payload.house_id).first() if payload.house_id else None
    if payload.house_id and house is None:
        raise Http404
    data = payload.dict()
    person = services.person_create(
        actor=request.user,
        fields={k: data[k] for k in services.PERSON_FIELDS if k in data},
        residence=services.Residence(
            house=house,
            grid_code=payload.grid_code,
            relation=payload.relation,
            start_date=payload.start_date,
            is_household_consistent=payload.is_household_consistent,
            is_registered=payload.is_registered,
        ),
        request=request,
    )
    return Status(201, _out(request.user, person))


@router.post("/{person_id}/reveal", response=RevealOut, summary="查看完整号码（需理由，留痕）")
def reveal(request, person_id: int, payload: RevealIn, response: HttpResponse):
    """The full number, for a reason (audited); `Cache-Control: no-store`."""
    person = S.person_for_user(request.user, person_id)
    value = services.person_reveal(
        actor=request.user,
        person=person,
        field=payload.field,
        reason=payload.reason,
        request=request,
    )
    response["Cache-Control"] = "no-store"
    return {"field": payload.field, "value": value}


@router.post("/{person_id}/move", response=PersonOut, summary="迁入新住址")
def move(request, person_id: int, payload: MoveIn):
    person = S.person_for_user(request.user, person_id)
    house = House.objects.filter(pk=payload.house_id).first()
    if house is None:
        raise Http404
    services.person_move_in(
        actor=request.user,
        person=person,
        house=house,
        relation=payload.relation,
        start_date=payload.start_date,
        is_household_consistent=payload.is_household_consistent,
        is_registered=payload.is_registered,
        request=request,
    )
    return _out(request.user, person)
