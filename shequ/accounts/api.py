"""Auth API: exchange username/mobile + password for a bearer token; who am I."""

from datetime import datetime

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from shequ.accounts.second_factor import totp_needed, totp_verify
from shequ.accounts.services import api_token_issue
from shequ.core import ratelimit
from shequ.core.errors import ServiceError
from shequ.core.scoping import user_assignments

API_PREFIX = "/auth/"
router = Router(tags=["auth"])


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=150, description="用户名或手机号码")
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=100, description="令牌用途（可选）")
    otp: str = Field(
        default="", max_length=10, description="两步验证码（超级管理员和市级管理员需要）"
    )


class AssignmentOut(Schema):
    role: str
    role_label: str
    scope_code: str
    scope_name: str


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    assignments: list[AssignmentOut]


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"
    expires_at: datetime
    user: MeOut


def _me(user) -> dict:
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": user.full_name,
        "assignments": [
            {
                "role": a.role,
                "role_label": str(a.get_role_display()),
                "scope_code": a.scope_code,
                "scope_name": a.scope_label,
            }
            for a in user_assignments(user)
        ],
    }


@router.post("/token", auth=None, response={201: TokenOut}, summary="获取 API 令牌")
def token_create(request, payload: TokenIn):
    ratelimit.check(request, "login")
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise ServiceError(_("用户名或密码错误。"), code="invalid_credentials", status=401)
    if totp_needed(user):
        ratelimit.check(request, "totp", key=f"user:{user.pk}")  # codes per account
    if totp_needed(user) and not totp_verify(user=user, code=payload.otp, request=request):
        raise ServiceError(
            _("该账号需要两步验证：请在 otp 字段填写验证器中的 6 位验证码。"),
            code="otp_required",
            status=401,
        )
    token, plaintext = api_token_issue(user=user, name=payload.name)
    return Status(201, {"token": plaintext, "expires_at": token.expires_at, "user": _me(user)})


@router.get("/me", response=MeOut, summary="当前用户")
def me(request):
    return _me(request.user)
