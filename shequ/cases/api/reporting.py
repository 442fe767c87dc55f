"""Reporting endpoints: POST /cases (上报, JSON or multipart) and following a case (我也遇到)."""

from ninja import Schema
from ninja.responses import Status

from shequ.cases import access, services
from shequ.cases.api.base import router
from shequ.cases.api.parsing import MULTIPART_DOC, CaseIn, parse_body
from shequ.cases.api.serializers import CaseCreated


@router.post(
    "cases",
    response={201: CaseCreated},
    summary="上报案件",
    openapi_extra=MULTIPART_DOC,
)
def case_create(request):
    """Report a case. JSON or multipart; `Idempotency-Key` makes a retry return the first answer.

    → 201 `{id, code, status, grid_code, due_at}`; 400 with field errors; 409 when the source
    work-order number was already registered.
    """
    services.report_rate_check(actor=request.user, request=request)
    payload, photos = parse_body(request, CaseIn)
    data = payload.model_dump(exclude={"photos"})
    case = services.case_report(actor=request.user, photos=photos, **data)
    return Status(
        201,
        {
            "id": case.pk,
            "code": case.code,
            "status": case.status,
            "grid_code": case.region_code,
            "due_at": case.due_at,
        },
    )


class FollowOut(Schema):
    case_id: int
    following: bool


@router.post("cases/{int:case_id}/follow", response=FollowOut, summary="我也遇到（关注）")
def case_follow(request, case_id: int):
    """Follow an open case instead of reporting it again. Residents may follow their own grid's
    cases and their community's public ones, staff the cases in their scope; anything else is
    404. The follower's detail is the public view (no grid; no place for sensitive groups).
    409 `case_not_open` / `own_case`."""
    case = access.get_followable_or_404(request.user, case_id)
    services.case_follow(case=case, actor=request.user)
    return {"case_id": case.pk, "following": True}
