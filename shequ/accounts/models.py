"""Users, their assignments (role, scope) and API tokens."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.crypto import EncryptedTextField
from shequ.core.masking import mask_name, mask_phone
from shequ.core.roles import REGION_ROLES, Role

MOBILE_CONTEXT = "accounts.user.mobile"


class User(AbstractUser):
    """A person who logs in. Log in by username or by mobile number (looked up by keyed hash)."""

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    mobile = EncryptedTextField(_("手机号码"), blank=True, context=MOBILE_CONTEXT)
    mobile_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    elder_mode = models.BooleanField(_("长辈模式"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    @property
    def masked_name(self) -> str:
        return mask_name(self.full_name) or self.username

    @property
    def masked_mobile(self) -> str:
        return mask_phone(self.mobile)


class Assignment(models.Model):
    """A user's role within a scope: a region (grid … city), or a property company."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("负责区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    property_company = models.ForeignKey(
        "property.PropertyCompany",
        verbose_name=_("物业公司"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("岗位分配")
        verbose_name_plural = _("岗位分配")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        role__in=sorted(r.value for r in REGION_ROLES),
                        region__isnull=False,
                        property_company__isnull=True,
                    )
                    | Q(
                        role=Role.PROPERTY_STAFF,
                        property_company__isnull=False,
                        region__isnull=True,
                    )
                    | Q(role=Role.PARTNER_CONTACT)
                ),
                name="assignment_scope_matches_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=Q(region__isnull=False),
                name="assignment_unique_region_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "property_company"],
                condition=Q(property_company__isnull=False),
                name="assignment_unique_company_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.scope_label}"

    @property
    def scope_code(self) -> str:
        """The region code this assignment covers ("" for non-region scopes)."""
        region = self.region  # None without a query when region_id is null
        return region.code if region is not None else ""

    @property
    def scope_label(self) -> str:
        if (region := self.region) is not None:
            return region.name
        if (company := self.property_company) is not None:
            return company.name
        return ""


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 hash of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100, blank=True)
    prefix = models.CharField(_("前缀"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("过期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class TotpDevice(models.Model):
    """A user's authenticator app (TOTP second factor). The secret is encrypted at rest."""

    user = models.OneToOneField(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = EncryptedTextField(_("密钥"), context="accounts.totpdevice.secret")
    confirmed_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    last_used_step = models.BigIntegerField(default=0)  # a code is accepted once (no replay)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("两步验证设备")
        verbose_name_plural = _("两步验证设备")

    def __str__(self) -> str:
        return f"TOTP · {self.user}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None
