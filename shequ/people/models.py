"""The resident registry (实有人口): people, households (户), person–house links (人房关联),
special-population tags and Excel import jobs.

Personal numbers (ID, mobile, landline, emergency contact's phone) are stored encrypted
(`EncryptedTextField`) with a keyed hash beside each for exact lookup; the database never sees
them in plaintext. Every row that scoping filters carries `region_code` = its grid's code.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.crypto import EncryptedBinaryField, EncryptedTextField, blind_index_candidates
from shequ.core.masking import mask_id_number, mask_name, mask_phone
from shequ.people.choices import (
    ETHNICITIES,
    Gender,
    HouseholdKind,
    HouseRelation,
    IdType,
    ImportStatus,
    LinkStatus,
    PersonStatus,
    PoliticalStatus,
    RegistrationType,
    RelationToHead,
    Sensitivity,
)

ID_CONTEXT = "people.person.id_number"
MOBILE_CONTEXT = "people.person.mobile"
LANDLINE_CONTEXT = "people.person.landline"
EMERGENCY_CONTEXT = "people.person.emergency_phone"
IMPORT_PAYLOAD_CONTEXT = "people.importjob.payload"


def id_hashes(number: str) -> list[str]:
    """Hashes of a normalised ID number under every configured key (exact lookup): the services
    and the importer look people up by them."""
    return blind_index_candidates(number, context=ID_CONTEXT)


class Household(models.Model):
    """A household (户): a 户号, its members (Person.household) and the dwelling it lives in."""

    number = models.CharField(_("户号"), max_length=30, unique=True)
    kind = models.CharField(
        _("户别"), max_length=12, choices=HouseholdKind.choices, default=HouseholdKind.FAMILY
    )
    house = models.ForeignKey(
        "geo.House",
        verbose_name=_("居住房屋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="households",
    )
    region_code = models.CharField(_("网格代码"), max_length=15, db_index=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    """A resident (实有人口). Gender and birth date are derived from a valid ID number."""

    name = models.CharField(_("姓名"), max_length=50)
    id_type = models.CharField(
        _("证件类型"), max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = EncryptedTextField(_("证件号码"), context=ID_CONTEXT)
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=2, choices=ETHNICITIES, default="01")
    political_status = models.CharField(
        _("政治面貌"),
        max_length=20,
        choices=PoliticalStatus.choices,
        default=PoliticalStatus.MASSES,
    )
    registration_type = models.CharField(
        _("户籍类型"),
        max_length=10,
        choices=RegistrationType.choices,
        default=RegistrationType.LOCAL,
    )
    mobile = EncryptedTextField(_("手机号码"), blank=True, context=MOBILE_CONTEXT)
    mobile_hash = models.CharField(  # noqa: DJ001 - NULL: no number
        max_length=64, null=True, blank=True, db_index=True, editable=False
    )
    landline = EncryptedTextField(_("固定电话"), blank=True, context=LANDLINE_CONTEXT)
    landline_hash = models.CharField(  # noqa: DJ001 - NULL: no number
        max_length=64, null=True, blank=True, db_index=True, editable=False
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    relation_to_head = models.CharField(
        _("与户主关系"), max_length=16, choices=RelationToHead.choices, blank=True
    )
    emergency_contact_name = models.CharField(_("紧急联系人"), max_length=50, blank=True)
    emergency_contact_phone = EncryptedTextField(
        _("紧急联系人电话"), blank=True, context=EMERGENCY_CONTEXT
    )
    emergency_contact_phone_hash = models.CharField(  # noqa: DJ001 - NULL: no number
        max_length=64, null=True, blank=True, db_index=True, editable=False
    )
    # The grid the person lives in; kept in step with the current house by the services.
    region_code = models.CharField(_("网格代码"), max_length=15)
    house = models.ForeignKey(
        "geo.House",
        verbose_name=_("现居住房屋"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="current_residents",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    admin_scope_field = "region_code"

    # Not a column: the current tags a user may see (selectors.attach_visible_tags).
    visible_tags: list["PersonTag"]

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["-id"]
        indexes = [
            # Browsing pages by (grid, newest) and a name search by (name, id): each index gives
            # the page order directly, and carries region_code and status so that the scope
            # filter and the capped count are answered from the index alone.
            models.Index(fields=["region_code", "id", "status"], name="person_region_id"),
            models.Index(fields=["name", "id", "region_code", "status"], name="person_name_id"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(relation_to_head=RelationToHead.HEAD),
                name="person_one_head_per_household",
            ),
            models.CheckConstraint(
                condition=Q(gender__in=[Gender.MALE, Gender.FEMALE]), name="person_gender_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.masked_name

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_mobile(self) -> str:
        return mask_phone(self.mobile)

    @property
    def masked_landline(self) -> str:
        return mask_phone(self.landline)

    @property
    def masked_emergency_contact_phone(self) -> str:
        return mask_phone(self.emergency_contact_phone)

    @property
    def age(self) -> int | None:
        if self.birth_date is None:
            return None
        today = timezone.localdate()
        return (
            today.year
            - self.birth_date.year
            - ((today.month, today.day) < (self.birth_date.month, self.birth_date.day))
        )


class HouseLink(models.Model):
    """人房关联: a person's relation to a house over time. Never overwritten: moving house ends
    one link (status 迁出, end date) and starts another."""

    person = models.ForeignKey(
        Person, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="house_links"
    )
    house = models.ForeignKey(
        "geo.House", verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="person_links"
    )
    region_code = models.CharField(_("网格代码"), max_length=15, db_index=True)
    relation = models.CharField(_("与房屋关系"), max_length=10, choices=HouseRelation.choices)
    status = models.CharField(_("迁入状态"), max_length=8, choices=LinkStatus.choices)
    start_date = models.DateField(_("迁入日期"), null=True, blank=True)
    end_date = models.DateField(_("迁出日期"), null=True, blank=True)
    is_household_consistent = models.BooleanField(_("人户一致"), default=True)
    is_registered = models.BooleanField(_("是否落户"), default=False)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("结束登记时间"), null=True, blank=True)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("人房关联")
        verbose_name_plural = _("人房关联")
        ordering = ["-id"]
        constraints = [
            # One open link per person and house, and one house a person currently lives in.
            models.UniqueConstraint(
                fields=["person", "house"],
                condition=~Q(status=LinkStatus.MOVED_OUT),
                name="houselink_one_open_per_house",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status=LinkStatus.MOVED_IN),
                name="houselink_one_current_home",
            ),
            models.CheckConstraint(
                condition=~Q(status=LinkStatus.MOVED_OUT) | Q(end_date__isnull=False),
                name="houselink_moved_out_has_end_date",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="houselink_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_relation_display()} · {self.get_status_display()}"


class TagType(models.Model):
    """A special-population class (§5): 低保, 残疾, 高龄 … with its sensitivity level."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=30, unique=True)
    category = models.CharField(_("类别"), max_length=20)
    sensitivity = models.PositiveSmallIntegerField(
        _("敏感级别"), choices=Sensitivity.choices, default=Sensitivity.NORMAL
    )
    detail_label = models.CharField(
        _("补充信息说明"), max_length=40, blank=True, help_text=_("如“残疾类别和等级”")
    )
    order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("人员标签类型")
        verbose_name_plural = _("人员标签类型")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class TagSynonym(models.Model):
    """Another way a tag is written in the field's 台账 ("低保户" for 低保, "独居老人" for 独居).

    Data, not code: the import recognises these spellings; staff who manage the vocabulary add
    and remove them on the 标签写法 page. `text` is stored normalised (half-width, no spaces),
    unique across all tags, so that one spelling never means two tags."""

    tag_type = models.ForeignKey(
        TagType, verbose_name=_("标签"), on_delete=models.CASCADE, related_name="synonyms"
    )
    text = models.CharField(_("写法"), max_length=30, unique=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("标签写法")
        verbose_name_plural = _("标签写法")
        ordering = ["tag_type__order", "text"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="tagsynonym_text_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.text} → {self.tag_type}"


class PersonTag(models.Model):
    """A person's membership of a special population, with source and validity dates.

    Ending a tag sets `end_date`; the row stays as history."""

    person = models.ForeignKey(
        Person, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="tags"
    )
    tag_type = models.ForeignKey(
        TagType, verbose_name=_("标签"), on_delete=models.PROTECT, related_name="person_tags"
    )
    detail = models.CharField(_("补充信息"), max_length=100, blank=True)
    source = models.CharField(_("来源"), max_length=100)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("人员标签")
        verbose_name_plural = _("人员标签")
        ordering = ["tag_type__order", "-start_date"]
        indexes = [models.Index(fields=["tag_type", "person"], name="persontag_type_person")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "tag_type"],
                condition=Q(end_date__isnull=True),
                name="persontag_one_open_per_type",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="persontag_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.tag_type}"

    @property
    def is_current(self) -> bool:
        return self.end_date is None or self.end_date >= timezone.localdate()


class ImportJob(models.Model):
    """One Excel import: the uploaded file (encrypted until processed), progress and report.

    The report lists bad rows and columns with masked values only."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    region_code = models.CharField(_("社区代码"), max_length=15, db_index=True)
    default_grid_code = models.CharField(_("默认网格"), max_length=15, blank=True)
    dry_run = models.BooleanField(_("仅校验"), default=False)
    create_missing = models.BooleanField(_("新建系统中没有的小区、楼栋和房屋"), default=False)
    file_name = models.CharField(_("文件名"), max_length=200)
    payload = EncryptedBinaryField(default=b"", context=IMPORT_PAYLOAD_CONTEXT)
    status = models.CharField(
        _("状态"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    unchanged_count = models.PositiveIntegerField(_("未变化"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    warning_count = models.PositiveIntegerField(_("提示数"), default=0)
    # Errors and warnings: [{"row", "column", "value" (masked), "message", "level"}].
    report = models.JSONField(_("校验报告"), default=list, blank=True)
    # What the import does (or, for a preview, will do), per entity; see importing.summary.
    summary = models.JSONField(_("导入结果"), default=dict, blank=True)
    # A preview keeps its (encrypted) file until it is confirmed or this time passes.
    keep_until = models.DateTimeField(_("预览保留至"), null=True, blank=True, db_index=True)
    preview = models.ForeignKey(
        "self",
        verbose_name=_("来自预览"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="confirmations",
    )
    message = models.TextField(_("说明"), blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.REJECTED, ImportStatus.FAILED)

    @property
    def can_confirm(self) -> bool:
        """A preview without errors whose file is still kept can be imported for real."""
        return (
            self.dry_run
            and self.status == ImportStatus.SUCCEEDED
            and self.keep_until is not None
            and self.keep_until > timezone.now()
        )

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.report if p.get("level", "error") == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.report if p.get("level") == "warning"]

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.SUCCEEDED:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))
