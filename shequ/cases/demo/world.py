"""The seeded world the simulation reports into: the grids with their buildings, and the people
who act on cases (the categories come from the database in `SimulatorBase`)."""

from shequ.accounts.models import Assignment
from shequ.cases.demo.patterns import Actors, Place
from shequ.demo import danyang
from shequ.geo.models import Building, Region


def places(scale: str, flagship_grids) -> list[Place]:
    """Each grid with up to 60 of its buildings, weighted (urban grids more; at small scale the
    flagship community's grids most). `flagship_grids()` returns the flagship grid codes."""
    grids = dict(Region.objects.filter(level="grid").values_list("code", "urban_rural_class"))
    by_grid: dict[str, list] = {code: [] for code in grids}
    rows = Building.objects.values_list(
        "region_code", "id", "lat", "lng", "estate__property_company_id", "address"
    ).order_by("region_code", "id")
    for code, pk, lat, lng, company, address in rows.iterator(chunk_size=10000):
        bucket = by_grid.get(code)
        if bucket is not None and len(bucket) < 60:
            bucket.append((pk, lat, lng, company, address))
    found = []
    for code in sorted(by_grid):
        if not by_grid[code]:
            continue
        urban = grids[code] in ("111", "121")
        weight = 1.6 if urban else 1.0
        if scale == "small" and code.startswith(danyang.FLAGSHIP_CODE):
            weight *= 6 if code in (flagship_grids()[:2]) else 3
        found.append(Place(code, by_grid[code], weight))
    return found


def flagship_grids() -> list[str]:
    """The grid codes of the flagship community (丹阳's demo community), sorted."""
    return sorted(
        Region.objects.filter(level="grid", code__startswith=danyang.FLAGSHIP_CODE).values_list(
            "code", flat=True
        )
    )


def actors() -> Actors:
    """Who acts on the simulated cases: the first grid worker of each grid, the community staff
    (the demo account `community` first), township officers, property staff, the demo resident."""
    grid_workers: dict[str, tuple[int, str]] = {}
    community: dict[str, tuple[int, str]] = {}
    township: dict[str, tuple[int, str]] = {}
    company: dict[int | None, tuple[int, str]] = {}
    resident: tuple[int, str] | None = None
    resident_grid = ""
    for role, code, company_id, user_id, full_name, username in (
        Assignment.objects.filter(is_active=True)
        .values_list(
            "role",
            "region__code",
            "property_company_id",
            "user_id",
            "user__full_name",
            "user__username",
        )
        .order_by("user_id")
    ):
        name = full_name or username
        if role == "grid_worker":
            grid_workers.setdefault(code, (user_id, name))
        elif role == "community_staff":
            if username == "community" or code not in community:
                community[code] = (user_id, name)
        elif role == "township_officer":
            township.setdefault(code, (user_id, name))
        elif role == "property_staff":
            company.setdefault(company_id, (user_id, name))
        elif role == "resident" and username == "resident":
            resident, resident_grid = (user_id, name), code
    return Actors(grid_workers, community, township, company, resident, resident_grid)
