"""Check-in codes and their QR codes (签到码/签退码): one mechanism for every on-site check-in.

A subject — any model instance with an integer key: a points task, a meeting (月月谈), an
activity, a facility booking, a patrol checkpoint, a 三会一课 session, a desk appointment — gets
a short numeric code per purpose (check-in, check-out), each with an optional validity window.
The person on site types the code the organiser shows, or scans its QR; the owning app calls
`checkin_code_verify` and records the attendance in its own tables.

    codes = checkin_codes_issue(task, valid_from=start, valid_until=end)   # in the app's create
    checkin_code_verify(actor=user, subject=task, purpose="checkin", code=typed)
    checkin_qr(task, "checkin", url=absolute_url_of_the_check_page)

Guessing is bounded: each wrong code counts against (code, person), written with
`core.durable.durable_write` so that no rollback of the request (an Idempotency-Key replay, the
caller's transaction) undoes it; at `SHEQU_CHECKIN_MAX_CODE_FAILURES` the code is locked for
that person (audited once, `core.checkin_code_locked`) and only the organiser's on-site
confirmation in the owning app helps. Codes are compared in constant time. The two purposes of a
subject never share a code (also a database constraint), so a check-out code never checks in.

Used by: shequ.points (task check-in/out, the first caller). Meant for the wave-2 apps:
meetings 月月谈, activities, facilities, patrol checkpoints, 三会一课 attendance, desk
appointments. The QR holds a URL of this site with the code, or the code — never personal data.
"""

import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.durable import durable_write
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.models import CheckinCode, CheckinCodeFailure, CheckinPurpose
from shequ.core.qr import qr_data_uri

CODE_LENGTH = 6
PURPOSES = (CheckinPurpose.CHECKIN, CheckinPurpose.CHECKOUT)


def subject_key(subject: models.Model) -> tuple[str, int]:
    """("app.model", pk) of a subject instance."""
    if subject.pk is None:
        raise ValueError("a check-in subject must be saved first")
    return subject._meta.label_lower, int(subject.pk)


def max_code_failures() -> int:
    return settings.SHEQU_CHECKIN_MAX_CODE_FAILURES


def _new_code(taken: set[str], length: int) -> str:
    while True:
        code = "".join(str(secrets.randbelow(10)) for _ in range(length))
        if code not in taken:
            return code


def _check_purpose(purpose: str) -> None:
    if purpose not in CheckinPurpose.values:
        raise InvalidInput(_("签到用途无效。"), code="invalid_purpose")


def _codes_of(subject_type: str, subject_id: int):
    return CheckinCode.objects.filter(subject_type=subject_type, subject_id=subject_id)


@transaction.atomic
def checkin_codes_issue(
    subject: models.Model,
    *,
    purposes: Iterable[str] = PURPOSES,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    length: int = CODE_LENGTH,
) -> dict[str, CheckinCode]:
    """Issue a fresh code for each purpose of `subject` (inside the owner's create service, which
    audits the subject itself). Purposes with different windows are issued by separate calls;
    a subject's codes never repeat across purposes. A purpose that already has a code →
    ConflictError "already_issued" (use `checkin_code_rotate`)."""
    subject_type, subject_id = subject_key(subject)
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise InvalidInput(_("签到码的失效时间必须晚于生效时间。"), code="invalid_window")
    issued: dict[str, CheckinCode] = {}
    for purpose in purposes:
        _check_purpose(purpose)
        existing = _codes_of(subject_type, subject_id)
        if existing.filter(purpose=purpose).exists():
            raise ConflictError(_("该对象已有此用途的签到码。"), code="already_issued")
        taken = set(existing.values_list("code", flat=True))
        issued[purpose] = CheckinCode.objects.create(
            subject_type=subject_type,
            subject_id=subject_id,
            purpose=purpose,
            code=_new_code(taken, length),
            valid_from=valid_from,
            valid_until=valid_until,
        )
    return issued


def checkin_code_for(subject: models.Model, purpose: str) -> CheckinCode | None:
    """The subject's code for `purpose` (None when none was issued) — for the organiser's page."""
    subject_type, subject_id = subject_key(subject)
    return _codes_of(subject_type, subject_id).filter(purpose=purpose).first()


def _require_code(subject: models.Model, purpose: str) -> CheckinCode:
    _check_purpose(purpose)
    code = checkin_code_for(subject, purpose)
    if code is None:
        raise ConflictError(_("该对象没有签到码。"), code="no_checkin_code")
    return code


def checkin_code_failures(checkin_code: CheckinCode, user) -> int:
    """How many wrong guesses `user` has made at this code."""
    row = CheckinCodeFailure.objects.filter(checkin_code=checkin_code, user=user).first()
    return row.failures if row is not None else 0


def _count_failure(checkin_code: CheckinCode, actor, subject: models.Model) -> None:
    """One more wrong guess; durable (no rollback undoes it). The guess that locks is audited."""
    limit = max_code_failures()

    def count() -> None:
        try:
            with transaction.atomic():
                CheckinCodeFailure.objects.get_or_create(checkin_code=checkin_code, user=actor)
        except IntegrityError:  # a concurrent first guess created the row: count on it
            pass
        rows = CheckinCodeFailure.objects.filter(checkin_code=checkin_code, user=actor)
        rows.update(failures=F("failures") + 1)
        if rows.values_list("failures", flat=True).first() == limit:
            audit_record(
                actor=actor,
                action="core.checkin_code_locked",
                obj=subject,
                details={"purpose": checkin_code.purpose, "user": actor.pk, "failures": limit},
            )

    durable_write(count)


def checkin_code_verify(
    *, actor, subject: models.Model, purpose: str, code: str, now: datetime | None = None
) -> CheckinCode:
    """Check the code `actor` typed for `subject`'s `purpose` (`now` for callers with their own
    clock, e.g. the points platform's). Raises ConflictError "too_many_code_failures" once the
    person has used up their guesses (even for the right code), ConflictError "outside_window"
    outside the code's validity, InvalidInput "wrong_code" (field "code") for a wrong code,
    which is counted. Returns the code row; recording the attendance is the caller's."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDeniedError(_("请先登录后再签到。"), code="login_required")
    checkin_code = _require_code(subject, purpose)
    if checkin_code_failures(checkin_code, actor) >= max_code_failures():
        raise ConflictError(
            _("验证码错误次数过多，请联系现场工作人员确认。"), code="too_many_code_failures"
        )
    now = now or timezone.now()
    label = CheckinPurpose(purpose).label
    if checkin_code.valid_from is not None and now < checkin_code.valid_from:
        raise ConflictError(
            _("%(purpose)s尚未开始（%(time)s起）。")
            % {
                "purpose": label,
                "time": f"{timezone.localtime(checkin_code.valid_from):%m-%d %H:%M}",
            },
            code="outside_window",
        )
    if checkin_code.valid_until is not None and now > checkin_code.valid_until:
        raise ConflictError(
            _("%(purpose)s时间已过（%(time)s止）。")
            % {
                "purpose": label,
                "time": f"{timezone.localtime(checkin_code.valid_until):%m-%d %H:%M}",
            },
            code="outside_window",
        )
    if not hmac.compare_digest(str(code or "").strip().encode(), checkin_code.code.encode()):
        _count_failure(checkin_code, actor, subject)
        raise InvalidInput(
            _("签到码不正确。") if purpose == CheckinPurpose.CHECKIN else _("签退码不正确。"),
            code="wrong_code",
            details={"field": "code"},
        )
    return checkin_code


@transaction.atomic
def checkin_code_rotate(
    *, actor, subject: models.Model, purpose: str, reason: str = "", reset_failures: bool = False
) -> CheckinCode:
    """A new code for `subject`'s `purpose` (a code seen by the wrong people, a printed sheet
    lost). The owning app checks that `actor` may. The guess counters stay with the code unless
    `reset_failures` (the organiser releasing people who were locked out); audited."""
    current = _require_code(subject, purpose)
    taken = set(_codes_of(current.subject_type, current.subject_id).values_list("code", flat=True))
    CheckinCode.objects.filter(pk=current.pk).update(
        code=_new_code(taken, len(current.code)), rotated_at=timezone.now()
    )
    if reset_failures:
        CheckinCodeFailure.objects.filter(checkin_code=current).delete()
    audit_record(
        actor=actor,
        action="core.checkin_code_rotate",
        obj=subject,
        reason=reason,
        details={"purpose": purpose, "reset_failures": reset_failures},
    )
    current.refresh_from_db()
    return current


def checkin_qr(subject: models.Model, purpose: str, *, url: str = "", scale: int = 6) -> str:
    """A QR (SVG data URI) of `url?code=<code>` — `url` being this site's check-in page of the
    subject — or of the bare code without a URL. Nothing about any person goes into it."""
    checkin_code = _require_code(subject, purpose)
    text = f"{url}?{urlencode({'code': checkin_code.code})}" if url else checkin_code.code
    return qr_data_uri(text, scale=scale)
