"""Revealing what a case keeps masked: the description as the resident typed it, and the
caller's phone number for 回访 (both audited).

A description is stored masked (shequ.core.masking.mask_free_text); when masking changed it,
the original is in `Case.description_original` (encrypted). Staff who work on the case in
their scope (handle, dispatch, 回访) may read it for a stated reason; every reveal is an audit
row `cases.reveal_description`, every refusal `cases.reveal_description_refused`.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.cases import access
from shequ.cases.models import Case
from shequ.core.actors import AnyUser, User
from shequ.core.audit import audit_record, audit_refusal
from shequ.core.errors import InvalidInput, NotFoundError, PermissionDeniedError
from shequ.core.scoping import has_perm

REVEAL_PERMS = ("cases.handle", "cases.dispatch", "cases.visit")


def may_reveal_description(actor: AnyUser | None, case: Case) -> bool:
    """Staff who see the case through their scope and work on it (not its reporter)."""
    if not access.sees_as_staff(actor, case):
        return False
    if getattr(actor, "is_superuser", False):
        return True
    if any(has_perm(actor, perm, case.region_code) for perm in REVEAL_PERMS):
        return True
    return bool(
        case.handler_company_id
        and has_perm(actor, "cases.handle", company_id=case.handler_company_id)
    )


def case_reveal_description(
    *, actor: User, case: Case, reason: str, request: HttpRequest | None = None
) -> str:
    """The description in full (numbers unmasked), for a stated reason; audited.

    Raises PermissionDeniedError (403, the refusal is audited) and InvalidInput (400
    `reason_required`). A description without masked numbers is returned as stored."""
    reason = (reason or "").strip()
    if not may_reveal_description(actor, case):
        audit_refusal(
            actor=actor,
            action="cases.reveal_description_refused",
            obj=case,
            reason=reason[:500],
            request=request,
        )
        raise PermissionDeniedError(_("您没有查看问题描述原文的权限。"), code="forbidden")
    if len(reason) < 2:
        raise InvalidInput(
            _("请填写查看理由（至少 2 个字），查看记录将写入审计日志。"),
            code="reason_required",
            details=[{"field": "reason", "message": _("请填写查看理由。")}],
        )
    audit_record(
        actor=actor,
        action="cases.reveal_description",
        obj=case,
        reason=reason[:500],
        request=request,
        details={"masked": case.description_is_masked},
    )
    return case.description_original or case.description


def case_reveal_contact_phone(
    *, actor: User, case: Case, reason: str, request: HttpRequest | None = None
) -> str:
    """The caller's phone number in full, for staff who call back (回访) in the case's scope,
    for a stated reason; audited as `cases.reveal_contact_phone`.

    Raises NotFoundError when the actor may not call back or the case has no number (the page
    answers 404, nothing learnt), InvalidInput (400 `reason_required`) without a reason."""
    if not has_perm(actor, "cases.visit", case.region_code) or not case.contact_phone:
        raise NotFoundError(_("未找到该案件。"), code="not_found")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("查看联系电话须填写事由。"),
            code="reason_required",
            details=[{"field": "reason", "message": _("请填写查看理由。")}],
        )
    audit_record(
        actor=actor,
        action="cases.reveal_contact_phone",
        obj=case,
        reason=reason[:500],
        request=request,
        details={"masked": case.masked_contact_phone},
    )
    return case.contact_phone
