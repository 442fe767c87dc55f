"""Demo accounts (password from SHEQU_DEMO_PASSWORD, default shequ-demo) and synthetic staff."""

from typing import Any

from django.conf import settings

from shequ.accounts.models import Assignment, User
from shequ.accounts.services import user_create, user_sync_admin_access
from shequ.core.regions import Level
from shequ.core.roles import Role
from shequ.demo.names import person_name
from shequ.demo.seeding import SeedContext
from shequ.geo.models import Estate, Region

SEED_ORDER = 20

# username, full name, role, mobile (a reserved-looking synthetic range), description
DEMO_ACCOUNTS = [
    ("admin", "系统管理员", None, "19900000000", "超级管理员（全部配置）"),
    ("city", "陈市民", Role.CITY_OPERATOR, "19900000001", "市级管理员（全市驾驶舱、配置）"),
    ("township", "王街道", Role.TOWNSHIP_OFFICER, "19900000002", "云阳街道干部"),
    ("community", "李社区", Role.COMMUNITY_STAFF, "19900000003", "丹凤社区工作者（示范社区）"),
    ("grid", "张网格", Role.GRID_WORKER, "19900000004", "丹凤社区第一网格网格员"),
    ("grid2", "赵网格", Role.GRID_WORKER, "19900000005", "丹凤社区第二网格网格员"),
    ("resident", "刘居民", Role.RESIDENT, "19900000006", "住在第一网格的居民"),
    ("property", "周物业", Role.PROPERTY_STAFF, "19900000007", "第一网格小区的物业人员"),
    ("auditor", "孙审计", Role.AUDITOR, "19900000008", "审计员（查询审计日志）"),
    ("merchant", "钱收银", Role.PARTNER_CONTACT, "19900000009", "合作商户收银员（商户收银）"),
]


def demo_accounts_table() -> list[tuple[str, str, str]]:
    """(username, password, description) rows that `make demo` prints."""
    return [(u, settings.SHEQU_DEMO_PASSWORD, d) for u, _n, _r, _m, d in DEMO_ACCOUNTS]


def seed(ctx: SeedContext) -> None:
    rng = ctx.rng("accounts")
    regions = {r.code: r for r in Region.objects.exclude(level=Level.GRID)}
    grids = {r.code: r for r in Region.objects.filter(level=Level.GRID)}
    grid_a, grid_b = ctx.data["flagship_grids"][:2]
    estate = (
        Estate.objects.filter(region_code=grid_a, property_company__isnull=False)
        .order_by("name")
        .first()
    )
    assert estate is not None  # the geo seed gives the flagship grid managed estates
    scopes: dict[str, dict[str, Any]] = {
        "city": {"region": regions[ctx.data["city_code"]]},
        "township": {"region": regions[ctx.data["township_code"]]},
        "community": {"region": regions[ctx.data["flagship_code"]]},
        "grid": {"region": grids[grid_a]},
        "grid2": {"region": grids[grid_b]},
        "resident": {"region": grids[grid_a]},
        "property": {"property_company": estate.property_company},
        "auditor": {"region": regions[ctx.data["city_code"]]},
        "merchant": {},  # the partner merchants' cashier (merchants: points demo data)
    }
    users = {}
    for username, full_name, role, mobile, _description in DEMO_ACCOUNTS:
        user = user_create(
            username=username,
            password=settings.SHEQU_DEMO_PASSWORD,
            full_name=full_name,
            mobile=mobile,
            is_superuser=role is None,
        )
        if role is not None:
            Assignment.objects.create(user=user, role=role, **scopes[username])
            user_sync_admin_access(user=user)
        users[username] = user

    # One synthetic grid worker for every other grid; seven more staff in the flagship
    # community (the thesis's flagship has eight full-time staff). No usable passwords.
    covered = {grid_a, grid_b}
    workers, assignments = [], []
    for code in sorted(grids):
        if code in covered:
            continue
        workers.append(
            User(username=f"gw{code}", full_name=person_name(rng), is_staff=False, password="!")
        )
    for i in range(7):
        workers.append(
            User(
                username=f"staff{ctx.data['flagship_code']}{i + 1}",
                full_name=person_name(rng),
                is_staff=True,
                password="!",
            )
        )
    User.objects.bulk_create(workers, batch_size=1000)
    for worker in workers:
        if worker.username.startswith("gw"):
            assignments.append(
                Assignment(user=worker, role=Role.GRID_WORKER, region=grids[worker.username[2:]])
            )
        else:
            assignments.append(
                Assignment(
                    user=worker,
                    role=Role.COMMUNITY_STAFF,
                    region=regions[ctx.data["flagship_code"]],
                )
            )
    Assignment.objects.bulk_create(assignments, batch_size=1000)
    ctx.data["demo_users"] = {name: user.pk for name, user in users.items()}
    ctx.log(f"    {len(users)} demo accounts, {len(workers)} synthetic staff")
