"""Demo geography: the 12 real township units with synthetic boundaries (Voronoi cells around
their seats, clipped to a rough city outline), communities/villages and grids subdividing them,
estates, buildings and houses inside grids. Deterministic for a given seed and scale."""

import math

import shapely
from shapely.geometry import MultiPoint, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from shequ.core.regions import Level
from shequ.demo import danyang
from shequ.demo.names import surname
from shequ.demo.seeding import SeedContext
from shequ.geo import locate
from shequ.geo.models import (
    Building,
    Estate,
    EstateKind,
    FunctionalZone,
    House,
    Region,
    RegionKind,
    UrbanRuralClass,
)
from shequ.property.models import PropertyCompany

SEED_ORDER = 10

CHINESE_NUMERALS = "零一二三四五六七八九十"


def chinese_number(n: int) -> str:
    if n <= 10:
        return CHINESE_NUMERALS[n]
    if n < 20:
        return "十" + CHINESE_NUMERALS[n - 10]
    tens, ones = divmod(n, 10)
    return CHINESE_NUMERALS[tens] + "十" + (CHINESE_NUMERALS[ones] if ones else "")


def _round(geom, digits: int = 6):
    return shapely.set_precision(geom, 10**-digits)


def _geojson(geom) -> dict:
    data = mapping(_round(geom))

    def listify(value):
        if isinstance(value, (list, tuple)):
            return [listify(v) for v in value]
        return round(value, 6) if isinstance(value, float) else value

    return {"type": data["type"], "coordinates": listify(data["coordinates"])}


def _largest_polygon(geom):
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return max(parts, key=lambda g: g.area)


def random_points_in(
    geom, n: int, rng, *, around=None, spread: float | None = None, distinct: bool = False
):
    """n points inside geom: uniform, or normally spread around a point (lng, lat).

    `distinct` keeps points apart (Voronoi seeds must not coincide)."""
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    points: list[tuple[float, float]] = []
    attempts = 0
    while len(points) < n:
        attempts += 1
        if around is not None and attempts < 5000:
            x, y = rng.gauss(around[0], spread), rng.gauss(around[1], spread)
        else:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(geom, x, y):
            continue
        if distinct and any(math.dist((x, y), p) < 2e-4 for p in points):
            continue
        points.append((x, y))
        if attempts > 200000:
            raise RuntimeError("cannot place points inside polygon")
    return points


def subdivide(geom, points):
    """Voronoi cells of `points` clipped to `geom`, in the order of `points`."""
    if len(points) == 1:
        return [geom]
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=geom, ordered=True)
    return [_largest_polygon(cell.intersection(geom)) for cell in cells.geoms]


def _region(code, name, level, kind, parent, geom, urban_rural="", synthetic=False) -> Region:
    point = geom.representative_point()
    return Region(
        code=code,
        name=name,
        level=level,
        kind=kind,
        parent=parent,
        urban_rural_class=urban_rural,
        polygon=_geojson(geom),
        centroid_lat=round(point.y, 6),
        centroid_lng=round(point.x, 6),
        is_synthetic=synthetic,
    )


def _unit_names(rng, township, n_comm, n_vill, used_words):
    code, _name, _kind, _seat, known_comm, known_vill = township
    comms = [(name, c, False) for name, c in known_comm[:n_comm]]
    vills = [(name, c, False) for name, c in known_vill[:n_vill]]
    taken = {name for name, _c, _s in comms + vills}
    words = [w for w in danyang.SYNTHETIC_COMMUNITY_WORDS if w not in used_words]
    rng.shuffle(words)
    extra = [
        w + suffix
        for suffix in danyang.SYNTHETIC_COMMUNITY_SUFFIXES
        for w in danyang.SYNTHETIC_COMMUNITY_WORDS
        if w + suffix not in used_words
    ]
    rng.shuffle(extra)
    words = extra + words  # plain words first (popped from the end), then "word + suffix"
    while len(comms) < n_comm:
        word = words.pop()
        used_words.add(word)
        comms.append((f"{word}社区", None, True))
    while len(vills) < n_vill:
        name = f"{surname(rng)}{rng.choice(danyang.VILLAGE_SUFFIXES)}村"
        if name not in taken:
            taken.add(name)
            vills.append((name, None, True))
    # Assign codes: 001–199 for communities, 200–399 for villages, skipping known codes.
    used = {c for _n, c, _s in comms + vills if c}

    def assign(units, start):
        result, seq = [], start
        for name, c, synthetic in units:
            if c is None:
                while f"{code}{seq:03d}" in used:
                    seq += 1
                c = f"{code}{seq:03d}"
                used.add(c)
            result.append((name, c, synthetic))
        return result

    return assign(comms, 1), assign(vills, 200)


def seed(ctx: SeedContext) -> None:
    rng = ctx.rng("geo")
    scale = ctx.scale
    outline = Polygon(danyang.OUTLINE)

    city = _region(danyang.CITY_CODE, danyang.CITY_NAME, Level.CITY, RegionKind.CITY, None, outline)
    city.save()

    seats = [(t[3][1], t[3][0]) for t in danyang.TOWNSHIPS]
    township_cells = subdivide(outline, seats)
    townships = Region.objects.bulk_create(
        [
            _region(t[0], t[1], Level.TOWNSHIP, t[2], city, cell)
            for t, cell in zip(danyang.TOWNSHIPS, township_cells, strict=True)
        ]
    )
    for zone_name, codes in danyang.FUNCTIONAL_ZONES:
        zone = FunctionalZone.objects.create(name=zone_name)
        zone.townships.set([t for t in townships if t.code in codes])

    units_cfg = danyang.UNITS_PER_TOWNSHIP[scale]
    units: list[Region] = []
    used_words: set[str] = {danyang.FLAGSHIP_NAME[:2]}
    for township, region, cell in zip(danyang.TOWNSHIPS, townships, township_cells, strict=True):
        n_comm, n_vill = units_cfg.get(township[0], units_cfg["default"])
        comms, vills = _unit_names(rng, township, n_comm, n_vill, used_words)
        if township[0] == danyang.FLAGSHIP_CODE[:9]:
            comms[0] = (danyang.FLAGSHIP_NAME, danyang.FLAGSHIP_CODE, True)
        seat = (township[3][1], township[3][0])
        comm_points = random_points_in(
            cell, len(comms), rng, around=seat, spread=0.012, distinct=True
        )
        vill_points = random_points_in(cell, len(vills), rng, distinct=True)
        cells = subdivide(cell, comm_points + vill_points)
        subdistrict = township[2] == "subdistrict"
        for (name, code, synthetic), geom in zip(comms, cells[: len(comms)], strict=True):
            units.append(
                _region(
                    code,
                    name,
                    Level.COMMUNITY,
                    RegionKind.COMMUNITY,
                    region,
                    geom,
                    UrbanRuralClass.MAIN_URBAN if subdistrict else UrbanRuralClass.TOWN_CENTRE,
                    synthetic,
                )
            )
        for (name, code, synthetic), geom in zip(vills, cells[len(comms) :], strict=True):
            units.append(
                _region(
                    code,
                    name,
                    Level.COMMUNITY,
                    RegionKind.VILLAGE,
                    region,
                    geom,
                    UrbanRuralClass.URBAN_RURAL_FRINGE if subdistrict else UrbanRuralClass.VILLAGE,
                    synthetic,
                )
            )
    units = Region.objects.bulk_create(units)

    grids_cfg = danyang.GRIDS_PER_UNIT[scale]
    grids: list[Region] = []
    for unit in units:
        assert unit.polygon is not None  # every community and village above has a boundary
        geom = shapely.geometry.shape(unit.polygon)
        if unit.code == danyang.FLAGSHIP_CODE:
            n = grids_cfg["flagship"]
        else:
            low, high = grids_cfg[unit.kind]
            n = rng.randint(low, high)
        points = random_points_in(geom, n, rng, distinct=True)
        points.sort(key=lambda p: (-round(p[1], 3), p[0]))  # number grids north-west first
        for i, cell in enumerate(subdivide(geom, points), start=1):
            grids.append(
                _region(
                    f"{unit.code}{i:03d}",
                    f"第{chinese_number(i)}网格",
                    Level.GRID,
                    RegionKind.GRID,
                    unit,
                    cell,
                    unit.urban_rural_class,
                    unit.is_synthetic,
                )
            )
    grids = Region.objects.bulk_create(grids, batch_size=500)
    locate.grids_changed()

    companies = PropertyCompany.objects.bulk_create(
        [
            PropertyCompany(
                name=name,
                service_phone=f"0511-8600{i:04d}",
                region_code=danyang.CITY_CODE,
                is_synthetic=True,
            )
            for i, name in enumerate(danyang.PROPERTY_COMPANIES, start=1)
        ]
    )
    _seed_dwellings(ctx, rng, grids, units, townships, companies)

    flagship_grids = sorted(g.code for g in grids if g.code.startswith(danyang.FLAGSHIP_CODE))
    ctx.data.update(
        city_code=danyang.CITY_CODE,
        township_code=danyang.FLAGSHIP_CODE[:9],
        flagship_code=danyang.FLAGSHIP_CODE,
        flagship_grids=flagship_grids,
        grid_codes=[g.code for g in grids],
    )
    ctx.log(
        f"    {len(townships)} townships, {len(units)} communities/villages, {len(grids)} grids, "
        f"{Building.objects.count()} buildings, {House.objects.count()} houses"
    )


def _seed_dwellings(ctx, rng, grids, units, townships, companies) -> None:
    targets = danyang.HOUSES_PER_GRID[ctx.scale]
    unit_by_code = {u.code: u for u in units}
    township_by_code = {t.code: t for t in townships}
    estate_rows: list[Estate] = []
    plans: list[tuple[Estate, list[dict]]] = []
    estate_words = list(danyang.ESTATE_WORDS)
    grid_geoms: dict[str, BaseGeometry] = {}
    for grid in grids:
        unit = unit_by_code[grid.code[:12]]
        township = township_by_code[grid.code[:9]]
        geom = shapely.geometry.shape(grid.polygon)
        urban = unit.kind == RegionKind.COMMUNITY
        target = max(8, int(targets["community" if urban else "village"] * rng.uniform(0.7, 1.3)))
        prefix = f"丹阳市{township.name}{unit.name}"
        if urban:
            n_estates = 1 if target < 200 else 2
            for e in range(n_estates):
                name = f"{rng.choice(estate_words)}{rng.choice(danyang.ESTATE_SUFFIXES)}" + (
                    "" if e == 0 else f"{chinese_number(e + 1)}期"
                )
                in_flagship = grid.code.startswith(danyang.FLAGSHIP_CODE)
                company = (
                    companies[(int(grid.code[-3:]) + e) % len(companies)]
                    if in_flagship or rng.random() < 0.85
                    else None
                )
                estate = Estate(
                    name=name,
                    kind=EstateKind.ESTATE,
                    grid=grid,
                    region_code=grid.code,
                    property_company=company,
                )
                estate_rows.append(estate)
                buildings: list[dict] = []
                houses = 0
                while houses < target / n_estates:
                    floors = rng.choice([6, 6, 6, 7, 11, 11, 18, 18, 26])
                    units_n = rng.choice([1, 2, 2, 3])
                    rooms = 2
                    buildings.append(
                        {
                            "floors": floors,
                            "units": units_n,
                            "rooms": rooms,
                            "address": f"{prefix}{name}{len(buildings) + 1}幢",
                            "name": f"{len(buildings) + 1}幢",
                        }
                    )
                    houses += floors * units_n * rooms
                plans.append((estate, buildings))
        else:
            n_villages = 1 if target < 60 else 2
            names_here: set[str] = set()
            for _v in range(n_villages):
                name = f"{surname(rng)}家{rng.choice(danyang.VILLAGE_SUFFIXES)}"
                while name in names_here:
                    name = f"{surname(rng)}家{rng.choice(danyang.VILLAGE_SUFFIXES)}"
                names_here.add(name)
                estate = Estate(
                    name=name, kind=EstateKind.NATURAL_VILLAGE, grid=grid, region_code=grid.code
                )
                estate_rows.append(estate)
                count = max(4, target // n_villages)
                plans.append(
                    (
                        estate,
                        [
                            {
                                "floors": rng.choice([2, 2, 3]),
                                "units": 1,
                                "rooms": 0,
                                "address": f"{prefix}{name}{n}号",
                                "name": f"{n}号",
                            }
                            for n in range(1, count + 1)
                        ],
                    )
                )
        grid_geoms[grid.code] = geom
    Estate.objects.bulk_create(estate_rows, batch_size=1000)

    building_rows: list[Building] = []
    layouts: list[dict] = []
    seq_by_grid: dict[str, int] = {}
    for estate, buildings in plans:
        grid = estate.grid
        points = random_points_in(grid_geoms[grid.code], len(buildings), rng)
        for spec, (lng, lat) in zip(buildings, points, strict=True):
            seq = seq_by_grid.get(grid.code, 0) + 1
            seq_by_grid[grid.code] = seq
            building_rows.append(
                Building(
                    code=f"{grid.code}{seq:04d}",
                    grid=grid,
                    region_code=grid.code,
                    estate=estate,
                    name=spec["name"],
                    address=spec["address"],
                    lat=round(lat, 6),
                    lng=round(lng, 6),
                    floors=spec["floors"],
                    units=spec["units"],
                    is_rural_house=spec["rooms"] == 0,
                )
            )
            layouts.append(spec)
    Building.objects.bulk_create(building_rows, batch_size=2000)

    def house_rows():
        for building, spec in zip(building_rows, layouts, strict=True):
            if spec["rooms"] == 0:
                yield House(
                    code=f"{building.code}0001",
                    building=building,
                    region_code=building.region_code,
                    unit=1,
                    floor=1,
                    room=spec["name"],
                )
                continue
            seq = 0
            for unit in range(1, spec["units"] + 1):
                for floor in range(1, spec["floors"] + 1):
                    for room in range(1, spec["rooms"] + 1):
                        seq += 1
                        yield House(
                            code=f"{building.code}{seq:04d}",
                            building=building,
                            region_code=building.region_code,
                            unit=unit,
                            floor=floor,
                            room=f"{floor}{room:02d}",
                        )

    batch: list[House] = []
    for house in house_rows():
        batch.append(house)
        if len(batch) >= 5000:
            House.objects.bulk_create(batch)
            batch = []
    if batch:
        House.objects.bulk_create(batch)
