"""Choice lists of the resident registry (code values are stable; labels are Chinese)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("居民身份证")
    HMT_PERMIT = "hmt_permit", _("港澳台居民居住证")
    OTHER = "other", _("其他证件（护照等）")


class RegistrationType(models.TextChoices):
    """户籍类型: registered here, floating (流动), or from outside the mainland (境外)."""

    LOCAL = "local", _("户籍人口")
    FLOATING = "floating", _("流动人口")
    OVERSEAS = "overseas", _("境外人员")


class PoliticalStatus(models.TextChoices):
    CPC = "cpc", _("中共党员")
    CPC_PROBATIONARY = "cpc_probationary", _("中共预备党员")
    CYL = "cyl", _("共青团员")
    DEMOCRATIC = "democratic", _("民主党派成员")
    INDEPENDENT = "independent", _("无党派人士")
    MASSES = "masses", _("群众")


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    LEFT = "left", _("已迁离")
    DECEASED = "deceased", _("已故")


class RelationToHead(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    OTHER = "other", _("其他")


class HouseholdKind(models.TextChoices):
    FAMILY = "family", _("家庭户")
    COLLECTIVE = "collective", _("集体户")


class HouseRelation(models.TextChoices):
    """人房关系."""

    OWNER = "owner", _("产权人")
    FAMILY = "family", _("家庭成员")
    TENANT = "tenant", _("租客")
    LODGER = "lodger", _("借住")


class LinkStatus(models.TextChoices):
    PENDING = "pending", _("未迁入")
    MOVED_IN = "in", _("迁入")
    MOVED_OUT = "out", _("迁出")


class Sensitivity(models.IntegerChoices):
    """Who may see a tag: everyone who sees the person, roles that need health/disability
    data, or only a stricter role (社区矫正, 刑满释放 … are out of ordinary community work)."""

    NORMAL = 1, _("一般")
    SENSITIVE = 2, _("敏感（健康、残疾、未成年人）")
    RESTRICTED = 3, _("严格限制")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    VALIDATING = "validating", _("校验中")
    WRITING = "writing", _("写入中")
    SUCCEEDED = "succeeded", _("已完成")
    REJECTED = "rejected", _("有错误，未写入")
    FAILED = "failed", _("处理失败")


# 中国各民族名称的罗马字母拼写法和代码 (GB/T 3304-1991): code, name.
ETHNICITIES = [
    ("01", _("汉族")),
    ("02", _("蒙古族")),
    ("03", _("回族")),
    ("04", _("藏族")),
    ("05", _("维吾尔族")),
    ("06", _("苗族")),
    ("07", _("彝族")),
    ("08", _("壮族")),
    ("09", _("布依族")),
    ("10", _("朝鲜族")),
    ("11", _("满族")),
    ("12", _("侗族")),
    ("13", _("瑶族")),
    ("14", _("白族")),
    ("15", _("土家族")),
    ("16", _("哈尼族")),
    ("17", _("哈萨克族")),
    ("18", _("傣族")),
    ("19", _("黎族")),
    ("20", _("傈僳族")),
    ("21", _("佤族")),
    ("22", _("畲族")),
    ("23", _("高山族")),
    ("24", _("拉祜族")),
    ("25", _("水族")),
    ("26", _("东乡族")),
    ("27", _("纳西族")),
    ("28", _("景颇族")),
    ("29", _("柯尔克孜族")),
    ("30", _("土族")),
    ("31", _("达斡尔族")),
    ("32", _("仫佬族")),
    ("33", _("羌族")),
    ("34", _("布朗族")),
    ("35", _("撒拉族")),
    ("36", _("毛南族")),
    ("37", _("仡佬族")),
    ("38", _("锡伯族")),
    ("39", _("阿昌族")),
    ("40", _("普米族")),
    ("41", _("塔吉克族")),
    ("42", _("怒族")),
    ("43", _("乌孜别克族")),
    ("44", _("俄罗斯族")),
    ("45", _("鄂温克族")),
    ("46", _("德昂族")),
    ("47", _("保安族")),
    ("48", _("裕固族")),
    ("49", _("京族")),
    ("50", _("塔塔尔族")),
    ("51", _("独龙族")),
    ("52", _("鄂伦春族")),
    ("53", _("赫哲族")),
    ("54", _("门巴族")),
    ("55", _("珞巴族")),
    ("56", _("基诺族")),
    ("97", _("其他")),
    ("98", _("外国血统中国籍人士")),
]
