"""Grid-management pages: the map and the region browser (township → community → grid)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from shequ.core.errors import ServiceError
from shequ.core.regions import Level
from shequ.core.scoping import (
    EVERYTHING,
    get_scoped_or_404,
    has_perm,
    require_page_perm,
    scope_codes,
)
from shequ.geo import services
from shequ.geo.forms import BuildingForm, EstateForm, HouseForm
from shequ.geo.mapdata import map_config
from shequ.geo.models import Building, Estate, House, Region
from shequ.geo.selectors import (
    building_room_grid,
    grid_buildings,
    grid_summary,
    region_children_with_counts,
)
from shequ.geo.services import BUILDING_FIELDS, HOUSE_FIELDS


def _home_region(user) -> Region:
    """The region a user's map and browser open on: their scope, or the city."""
    codes = scope_codes(user, "geo.browse")
    if codes is EVERYTHING or not codes:
        return Region.objects.get(level=Level.CITY)
    if len(codes) == 1:
        return Region.objects.get(code=codes[0])
    common = codes[0]
    for code in codes[1:]:
        while not code.startswith(common):
            common = common[:-3]
    return Region.objects.filter(code=common).first() or Region.objects.get(level=Level.CITY)


@login_required
def map_page(request):
    require_page_perm(request.user, "geo.browse")
    region = _home_region(request.user)
    return render(
        request,
        "geo/map.html",
        {
            "region": region,
            "map_config": map_config(request.user),
        },
    )


@login_required
def region_browser(request, code: str | None = None):
    require_page_perm(request.user, "geo.browse")
    if code is None:
        region = _home_region(request.user)
    else:
        region = get_scoped_or_404(
            Region.objects.select_related("parent"),
            request.user,
            "geo.browse",
            field="code",
            code=code,
        )
    breadcrumbs = []
    node: Region | None = region
    while node is not None:
        breadcrumbs.append(node)
        node = node.parent
    breadcrumbs.reverse()
    visible = [r for r in breadcrumbs if has_perm(request.user, "geo.browse", r.code)]
    context = {
        "region": region,
        "breadcrumbs": visible,
        "children": region_children_with_counts(region),
        "grid": grid_summary(region) if region.level == Level.GRID else None,
    }
    if region.level == Level.GRID:
        context.update(grid_buildings(request.user, region))
    if request.headers.get("HX-Request"):
        return render(request, "geo/regions.html#region-panel", context)
    return render(request, "geo/regions.html", context)


# --- scoped edit pages: estates, buildings, houses (the room grid is the entry point) ---------


def _errors_into(form, error: ServiceError) -> None:
    fields = (error.details or {}).get("fields") if isinstance(error.details, dict) else None
    placed = False
    for name, message in (fields or {}).items():
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _grid_or_404(user, perm: str, code: str) -> Region:
    return get_scoped_or_404(
        Region.objects.filter(level=Level.GRID).select_related("parent"),
        user,
        perm,
        field="code",
        code=code,
    )


def _building_or_404(user, perm: str, pk: int) -> Building:
    """A building in the user's region scope, or of the property company they work for."""
    return get_scoped_or_404(
        Building.objects.select_related("grid", "estate"),
        user,
        perm,
        company_field="estate__property_company",
        pk=pk,
    )


@login_required
def building_detail(request, pk: int):
    """楼栋房屋网格: floors × units, each cell the rooms there, with edit links."""
    building = _building_or_404(request.user, "geo.view_building", pk)
    context = building_room_grid(building)
    context.update(
        building=building,
        can_change=has_perm(request.user, "geo.change_building", building.region_code),
        can_add_house=has_perm(request.user, "geo.add_house", building.region_code),
        can_change_house=has_perm(request.user, "geo.change_house", building.region_code),
        can_see_residents=has_perm(request.user, "people.view_person", building.region_code),
    )
    return render(request, "geo/building.html", context)


def _edit_page(request, form, *, save, context: dict):
    """The one shape of the geo edit pages: a valid POST calls `save(cleaned_data)` — a service
    call returning (message, url to go to) — and redirects; a service's refusal lands on the
    form's fields; otherwise the form again (400 after a failed POST, everything typed kept)."""
    if request.method == "POST" and form.is_valid():
        try:
            message, done = save(form.cleaned_data)
        except ServiceError as error:
            _errors_into(form, error)
        else:
            messages.success(request, message)
            return redirect(done)
    return render(
        request,
        "geo/edit_form.html",
        {"form": form, **context},
        status=400 if request.method == "POST" else 200,
    )


def _building_form_page(request, *, grid: Region, building: Building | None):
    estates = Estate.objects.filter(grid=grid).order_by("name")
    initial = (
        {name: getattr(building, name) for name in BUILDING_FIELDS}
        if building
        else {"lat": grid.centroid_lat, "lng": grid.centroid_lng}
    )
    form = BuildingForm(request.POST or None, initial=initial, estates=estates)

    def save(data):
        if building is None:
            created = services.building_create(
                actor=request.user, grid=grid, request=request, **data
            )
            return _("已新建楼栋。"), reverse("geo-building", args=[created.pk])
        services.building_update(
            actor=request.user, building=building, fields=data, request=request
        )
        return _("已保存楼栋信息。"), reverse("geo-building", args=[building.pk])

    return _edit_page(
        request,
        form,
        save=save,
        context={
            "grid": grid,
            "building": building,
            "title": _("修改楼栋") if building else _("新建楼栋"),
            "back_url": (
                reverse("geo-building", args=[building.pk])
                if building
                else reverse("region", args=[grid.code])
            ),
        },
    )


@login_required
def building_new(request, code: str):
    grid = _grid_or_404(request.user, "geo.add_building", code)
    return _building_form_page(request, grid=grid, building=None)


@login_required
def building_edit(request, pk: int):
    building = _building_or_404(request.user, "geo.change_building", pk)
    return _building_form_page(request, grid=building.grid, building=building)


def _house_form_page(request, *, building: Building, house: House | None):
    if house is not None:
        initial = {name: getattr(house, name) for name in HOUSE_FIELDS}
    else:
        initial = {"unit": request.GET.get("unit", 1), "floor": request.GET.get("floor")}
    form = HouseForm(request.POST or None, initial=initial)
    done = reverse("geo-building", args=[building.pk])

    def save(data):
        if house is None:
            services.house_create(actor=request.user, building=building, request=request, **data)
            return _("已新建房屋。"), done
        services.house_update(actor=request.user, house=house, fields=data, request=request)
        return _("已保存房屋信息。"), done

    return _edit_page(
        request,
        form,
        save=save,
        context={
            "grid": building.grid,
            "building": building,
            "house": house,
            "title": _("修改房屋") if house else _("新建房屋"),
            "back_url": done,
        },
    )


@login_required
def house_new(request, pk: int):
    building = _building_or_404(request.user, "geo.add_house", pk)
    return _house_form_page(request, building=building, house=None)


@login_required
def house_edit(request, pk: int):
    house = get_scoped_or_404(
        House.objects.select_related("building", "building__grid"),
        request.user,
        "geo.change_house",
        pk=pk,
    )
    return _house_form_page(request, building=house.building, house=house)


def _estate_form_page(request, *, grid: Region, estate: Estate | None):
    initial = {"name": estate.name, "kind": estate.kind} if estate else {}
    form = EstateForm(request.POST or None, initial=initial)
    done = reverse("region", args=[grid.code])

    def save(data):
        if estate is None:
            services.estate_create(actor=request.user, grid=grid, request=request, **data)
            return _("已新建小区/自然村。"), done
        services.estate_update(actor=request.user, estate=estate, fields=data, request=request)
        return _("已保存小区/自然村信息。"), done

    return _edit_page(
        request,
        form,
        save=save,
        context={
            "grid": grid,
            "title": _("修改小区/自然村") if estate else _("新建小区/自然村"),
            "back_url": done,
        },
    )


@login_required
def estate_new(request, code: str):
    grid = _grid_or_404(request.user, "geo.add_estate", code)
    return _estate_form_page(request, grid=grid, estate=None)


@login_required
def estate_edit(request, pk: int):
    estate = get_scoped_or_404(
        Estate.objects.select_related("grid"), request.user, "geo.change_estate", pk=pk
    )
    return _estate_form_page(request, grid=estate.grid, estate=estate)
