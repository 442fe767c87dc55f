"""Second factor (TOTP) for superusers and city operators.

Required when settings.SHEQU_REQUIRE_TOTP is on (production's default). The demo does not
require it, so the tour's `admin` and `city` accounts log in with a password; anyone who
enrolled an authenticator is asked for a code in every environment.

Login is two steps: the password step (`begin_login`) parks the user in the session; the code
step (`finish_login`) logs them in. A session that was never checked (e.g. it predates the
setting) is checked by `TotpRequiredMiddleware`.
"""

import time

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts import totp
from shequ.accounts.models import TotpDevice, User
from shequ.core.audit import audit_record, audit_refusal
from shequ.core.durable import durable_write
from shequ.core.errors import InvalidInput
from shequ.core.roles import Role
from shequ.core.scoping import user_roles

PENDING = "totp_pending"
CHECKED = "totp_checked"
PENDING_SECONDS = 300
ISSUER = "丹阳智慧社区"


def device_of(user) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user).first()


def totp_required_for(user) -> bool:
    """Must this account use a second factor under the current settings?"""
    if not settings.SHEQU_REQUIRE_TOTP:
        return False
    return bool(user.is_superuser or Role.CITY_OPERATOR in user_roles(user))


def totp_needed(user) -> bool:
    """Ask this user for a code: when required, or when they enrolled anyway."""
    if totp_required_for(user):
        return True
    device = device_of(user)
    return device is not None and device.confirmed


@transaction.atomic
def totp_enrol(*, user: User) -> TotpDevice:
    """Create (or renew while unconfirmed) the user's device; a confirmed one is kept."""
    device = device_of(user)
    if device is None:
        return TotpDevice.objects.create(user=user, secret=totp.new_secret())
    if not device.confirmed:
        device.secret = totp.new_secret()
        device.save(update_fields=["secret"])
    return device


def _use_code(device: TotpDevice, code: str) -> bool:
    step = totp.matching_step(device.secret, code)
    if step is None:
        return False
    # Compare-and-set on the last used step: each code works once, even under a race — and
    # even when the request that used it is rolled back afterwards (core.durable).
    return (
        durable_write(
            lambda: TotpDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
                last_used_step=step
            )
        )
        == 1
    )


@transaction.atomic
def totp_confirm(*, user: User, code: str, request=None) -> None:
    device = device_of(user)
    if device is None or not _use_code(device, code):
        raise InvalidInput(
            _("验证码不正确或已过期，请查看验证器中的最新 6 位数字。"), code="otp_invalid"
        )
    TotpDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    audit_record(actor=user, action="accounts.totp_enrol", obj=user, request=request)


def totp_verify(*, user: User, code: str, request=None) -> bool:
    """Check a login code; a wrong one is audited (a row no rollback undoes)."""
    device = device_of(user)
    if device is not None and device.confirmed and _use_code(device, code):
        return True
    audit_refusal(actor=None, action="accounts.totp_failed", obj=user, request=request)
    return False


@transaction.atomic
def totp_reset(*, user: User, actor=None, reason: str = "") -> None:
    """Remove a user's device (lost phone); they enrol again at the next login. Audited."""
    TotpDevice.objects.filter(user=user).delete()
    audit_record(actor=actor, action="accounts.totp_reset", obj=user, reason=reason)


# The two-step login ---------------------------------------------------------------------------


def begin_login(request, user, *, redirect_to: str) -> bool:
    """After the password: park the user when a code is needed (True), else log in (False)."""
    if totp_needed(user):
        request.session.cycle_key()
        request.session[PENDING] = {
            "user": user.pk,
            "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
            "at": time.time(),
            "next": redirect_to,
        }
        return True
    login(request, user)
    request.session[CHECKED] = "password"
    return False


def pending_user(request) -> tuple[User | None, dict]:
    pending = request.session.get(PENDING) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, {}
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


def finish_login(request, user, pending: dict) -> None:
    request.session.pop(PENDING, None)
    login(request, user, backend=pending["backend"])
    request.session[CHECKED] = "totp"
