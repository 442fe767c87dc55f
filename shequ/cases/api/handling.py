"""Handling endpoints: one transition of a case (POST …/transitions) and the audited reveal of
the original description."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field

from shequ.cases import access, selectors, services
from shequ.cases.api.base import router
from shequ.cases.api.parsing import TRANSITION_DOC, TransitionIn, body_error, parse_body
from shequ.cases.api.serializers import CaseDetail, detail
from shequ.cases.models import Case
from shequ.cases.workflow import Action


def _resolve_into(request, value) -> Case:
    if not value:
        raise body_error("into", _("请指定合并目标案件。"))
    target = access.find_merge_target(request.user, value)
    if target is None:
        raise body_error("into", _("未找到合并目标案件。"))
    return target


@router.post(
    "cases/{int:case_id}/transitions",
    response=CaseDetail,
    summary="案件流转",
    openapi_extra=TRANSITION_DOC,
)
def case_transition(request, case_id: int):
    """Apply one action: register | void | dispatch | accept | handle | verify | rework |
    extend | approve_extension | return | reopen | rate | merge | supervise | escalate | visit.

    → the updated case; 409 when the action is not allowed from the current status (the message
    names it); 403 when the role may not; 404 outside the user's scope.
    """
    case = access.get_case_or_404(request.user, case_id)
    payload, photos = parse_body(request, TransitionIn)
    params = payload.model_dump(exclude={"action", "photos"}, exclude_none=True)
    if payload.action == Action.MERGE:
        params["into"] = _resolve_into(request, payload.into)
    if photos:
        params["photos"] = photos
    if payload.action == Action.APPROVE_EXTENSION and "approved" not in params:
        params["approved"] = True
    services.case_apply(payload.action, case=case, actor=request.user, **params)
    return detail(selectors.case_for_user(request.user, case_id))


class DescriptionRevealIn(Schema):
    reason: str = Field(max_length=500, description="查看理由（至少 2 个字，写入审计日志）")


class DescriptionRevealOut(Schema):
    case_id: int
    description: str = Field(description="问题描述原文（含完整号码）")


@router.post(
    "cases/{int:case_id}/description/reveal",
    response=DescriptionRevealOut,
    summary="查看问题描述原文（需理由，留痕）",
)
def case_description_reveal(
    request, case_id: int, payload: DescriptionRevealIn, response: HttpResponse
):
    """The description as typed, numbers unmasked (stored masked; the original is encrypted).
    Staff of the case's scope only (403 otherwise, audited); `Cache-Control: no-store`."""
    case = access.get_case_or_404(request.user, case_id)
    text = services.case_reveal_description(
        actor=request.user, case=case, reason=payload.reason, request=request
    )
    response["Cache-Control"] = "no-store"
    return {"case_id": case.pk, "description": text}
