"""Registry pages: list and search, person detail with reveal, forms, moves, tags, households,
the building's room grid (楼栋户室图), Excel import with progress, exports, the resident's own
record. Views parse input, call a selector or a service, and render; htmx gets fragments."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shequ.core.errors import InvalidInput, PermissionDeniedError, ServiceError
from shequ.core.exports import export_response, template_response
from shequ.core.regions import Level
from shequ.core.scoping import get_scoped_or_404, has_perm, require_page_perm, scoped
from shequ.geo.models import Building, House, Region
from shequ.people import exporting, importing, services
from shequ.people import permissions as P
from shequ.people import selectors as S
from shequ.people.choices import RegistrationType
from shequ.people.forms import (
    ExportForm,
    HouseholdForm,
    ImportForm,
    MoveInForm,
    MoveOutForm,
    PersonForm,
    ResidenceForm,
    RevealForm,
    TagForm,
    TagSynonymForm,
    apply_service_error,
)
from shequ.people.importing import template
from shequ.people.models import Household, ImportJob, Person, PersonTag, TagSynonym, TagType


def _htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _grids(user, perm: str):
    return scoped(
        Region.objects.filter(level=Level.GRID).select_related("parent"), user, perm, field="code"
    ).order_by("code")


def _buildings(user, perm: str):
    return scoped(Building.objects.all(), user, perm).order_by("code")


# --- list, export ------------------------------------------------------------------------------


@login_required
def people_list(request):
    if not has_perm(request.user, P.VIEW):
        if has_perm(request.user, P.VIEW_SELF):
            return redirect("my-record")
        raise Http404
    filters = S.PeopleFilter.from_params(request.GET)
    after = request.GET.get("after", "")
    page = S.people_page(request.user, filters, after=after[:200] or None)
    params = filters.as_params()
    context = {
        "page": page,
        "filters": filters,
        "params": params,
        "querystring": urlencode(params),
        "next_url": (
            "?" + urlencode({**params, "after": page.next_cursor}) if page.next_cursor else ""
        ),
        "first_url": "?" + urlencode(params) if after else "",
        "tag_types": S.visible_tag_types(request.user),
        "grids": _grids(request.user, P.VIEW),
        "registration_types": RegistrationType.choices,
        "can_add": has_perm(request.user, P.ADD),
        "can_import": has_perm(request.user, P.IMPORT),
        "can_export": has_perm(request.user, P.EXPORT),
        "can_export_unmasked": has_perm(request.user, P.EXPORT_UNMASKED),
        "export_form": ExportForm(),
    }
    if _htmx(request):
        return render(request, "people/list.html#results", context)
    return render(request, "people/list.html", context)


@login_required
def people_export(request):
    """GET: masked export of the filtered list. POST: unmasked, with a reason (audited)."""
    require_page_perm(request.user, P.EXPORT)
    source = request.POST if request.method == "POST" else request.GET
    filters = S.PeopleFilter.from_params(source)
    form = ExportForm(request.POST or None)
    unmasked = request.method == "POST" and form.is_valid() and form.cleaned_data["unmasked"]
    reason = (
        form.cleaned_data.get("reason", "") if request.method == "POST" and form.is_valid() else ""
    )
    try:
        export = exporting.people_export(
            actor=request.user, filters=filters, unmasked=unmasked, reason=reason, request=request
        )
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect(reverse("people") + "?" + urlencode(filters.as_params()))
    return export_response(export)


# --- person ------------------------------------------------------------------------------------


def _detail_context(request, person: Person, **extra) -> dict:
    context = S.person_detail(request.user, person)
    context.update(
        reveal_fields=[
            (name, label, getattr(person, f"masked_{name}"))
            for name, label in services.REVEALABLE.items()
            if getattr(person, name)
        ],
        tag_form=TagForm(tag_types=context["tag_types"]),
        household_form=HouseholdForm(),
        move_out_form=MoveOutForm(),
        **extra,
    )
    return context


@login_required
def person_detail(request, pk: int):
    person = S.person_for_user(request.user, pk)
    return render(request, "people/detail.html", _detail_context(request, person))


@login_required
def my_record(request):
    require_page_perm(request.user, P.VIEW_SELF)
    person = S.own_person(request.user)
    if person is None:
        return render(request, "people/detail.html", {"person": None, "is_self": True})
    return render(request, "people/detail.html", _detail_context(request, person))


@login_required
@require_POST
def person_reveal(request, pk: int):
    person = S.person_for_user(request.user, pk)
    form = RevealForm(request.POST)
    form.is_valid()
    field = form.cleaned_data.get("field", "")
    context = {"person": person, "field": field, "label": services.REVEALABLE.get(field, "")}
    status = 200
    try:
        context["value"] = services.person_reveal(
            actor=request.user,
            person=person,
            field=field,
            reason=form.cleaned_data.get("reason", ""),
            request=request,
        )
    except ServiceError as exc:
        context["error"] = exc.message
        status = exc.status
    response = render(request, "people/_reveal.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the full number must not stay in any cache
    return response


@login_required
def person_create(request):
    require_page_perm(request.user, P.ADD)
    buildings = _buildings(request.user, P.ADD)
    building_id = request.POST.get("building") or request.GET.get("building") or ""
    houses = (
        S.houses_for_user(request.user, P.ADD, building=int(building_id))
        if building_id.isdigit()
        else House.objects.none()
    )
    form = PersonForm(request.POST or None)
    residence = ResidenceForm(
        request.POST or None,
        grids=_grids(request.user, P.ADD),
        buildings=buildings,
        houses=houses,
        initial={"building": building_id},
    )
    if request.method == "POST" and form.is_valid() and residence.is_valid():
        data = residence.cleaned_data
        house = House.objects.filter(pk=data["house"]).first() if data["house"] else None
        status = 200
        try:
            person = services.person_create(
                actor=request.user,
                fields=form.service_fields(),
                residence=services.Residence(
                    house=house,
                    grid_code=data["grid"],
                    relation=data["relation"],
                    start_date=data["start_date"],
                    is_household_consistent=data["is_household_consistent"],
                    is_registered=data["is_registered"],
                ),
                request=request,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("已登记居民 %(name)s。") % {"name": person.name})
            return redirect("person", pk=person.pk)
    else:
        status = 400 if request.method == "POST" else 200
    return render(
        request,
        "people/form.html",
        {"form": form, "residence": residence, "creating": True},
        status=status,
    )


@login_required
def person_edit(request, pk: int):
    person = S.person_for_user(request.user, pk)
    if not has_perm(request.user, P.CHANGE, person.region_code):
        raise PermissionDenied
    initial = {
        name: getattr(person, name)
        for name in (
            "name",
            "id_type",
            "gender",
            "birth_date",
            "ethnicity",
            "political_status",
            "registration_type",
            "emergency_contact_name",
        )
    }
    # Numbers are not put into the page: an empty box keeps the stored value.
    form = PersonForm(request.POST or None, initial=initial)
    for name in ("id_number", "mobile", "landline", "emergency_contact_phone"):
        form.fields[name].required = False
        form.fields[name].widget.attrs["placeholder"] = getattr(person, f"masked_{name}") or ""
    form.fields["id_number"].help_text = _("留空表示不修改。")
    if request.method == "POST" and form.is_valid():
        fields = {
            k: v
            for k, v in form.cleaned_data.items()
            if k not in ("id_number", "mobile", "landline", "emergency_contact_phone") or v
        }
        if "id_number" not in fields:
            fields.pop("id_type", None)
        fields.pop("gender", None)
        fields.pop("birth_date", None)
        try:
            services.person_update(
                actor=request.user, person=person, fields=fields, request=request
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("已保存。"))
            return redirect("person", pk=person.pk)
    else:
        status = 400 if request.method == "POST" else 200
    return render(
        request,
        "people/form.html",
        {"form": form, "person": person, "creating": False},
        status=status,
    )


@login_required
def person_move(request, pk: int):
    """Move in (GET shows the form) or out (POST with action=out)."""
    person = S.person_for_user(request.user, pk)
    if not has_perm(request.user, P.MOVE, person.region_code):
        raise PermissionDenied
    if request.method == "POST" and request.POST.get("action") == "out":
        out = MoveOutForm(request.POST)
        if out.is_valid():
            try:
                services.person_move_out(
                    actor=request.user,
                    person=person,
                    end_date=out.cleaned_data["end_date"],
                    left_city=out.cleaned_data["left_city"],
                    request=request,
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已办理迁出。"))
        else:
            messages.error(request, _("请填写有效的迁出日期。"))
        return redirect("person", pk=person.pk)
    building_id = request.POST.get("building") or request.GET.get("building") or ""
    houses = (
        S.houses_for_user(request.user, P.MOVE, building=int(building_id))
        if building_id.isdigit()
        else House.objects.none()
    )
    form = MoveInForm(
        request.POST or None,
        buildings=_buildings(request.user, P.MOVE),
        houses=houses,
        initial={"building": building_id},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        house = House.objects.filter(pk=form.cleaned_data["house"]).first()
        if house is None:
            raise Http404
        try:
            services.person_move_in(
                actor=request.user,
                person=person,
                house=house,
                relation=form.cleaned_data["relation"],
                start_date=form.cleaned_data["start_date"],
                is_household_consistent=form.cleaned_data["is_household_consistent"],
                is_registered=form.cleaned_data["is_registered"],
                request=request,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("已办理迁入。"))
            return redirect("person", pk=person.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "people/move.html", {"person": person, "form": form}, status=status)


@login_required
def house_options(request):
    """<option>s of the houses of one building (htmx, for the house select)."""
    perm = P.MOVE if has_perm(request.user, P.MOVE) else P.ADD
    require_page_perm(request.user, perm)
    building = request.GET.get("building", "")
    houses = (
        S.houses_for_user(request.user, perm, building=int(building))
        if building.isdigit()
        else House.objects.none()
    )
    return render(request, "people/_house_options.html", {"houses": houses})


@login_required
@require_POST
def person_tag_add(request, pk: int):
    person = S.person_for_user(request.user, pk)
    levels = S.visible_levels(request.user, person.region_code)
    form = TagForm(request.POST, tag_types=TagType.objects.filter(sensitivity__in=levels))
    if not form.is_valid():
        messages.error(
            request,
            _("标签信息不完整：")
            + "；".join(
                f"{form.fields[k].label}：{v[0]}" if k in form.fields else str(v[0])
                for k, v in form.errors.items()
            ),
        )
        return redirect("person", pk=person.pk)
    try:
        services.person_tag_add(
            actor=request.user,
            person=person,
            tag_type=TagType.objects.get(code=form.cleaned_data["tag_type"]),
            source=form.cleaned_data["source"],
            start_date=form.cleaned_data["start_date"],
            end_date=form.cleaned_data["end_date"],
            detail=form.cleaned_data["detail"],
            request=request,
        )
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已添加标签。"))
    return redirect("person", pk=person.pk)


@login_required
@require_POST
def person_tag_end(request, pk: int, tag_id: int):
    person = S.person_for_user(request.user, pk)
    tag = (
        PersonTag.objects.select_related("tag_type", "person")
        .filter(pk=tag_id, person=person)
        .first()
    )
    if tag is None or tag.tag_type.sensitivity not in S.visible_levels(
        request.user, person.region_code
    ):
        raise Http404
    try:
        services.person_tag_end(actor=request.user, tag=tag, request=request)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("标签已结束，记录保留在历史中。"))
    return redirect("person", pk=person.pk)


@login_required
@require_POST
def person_household(request, pk: int):
    """Join an existing household by its number, or start a new one at the person's house."""
    person = S.person_for_user(request.user, pk)
    form = HouseholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择与户主关系。"))
        return redirect("person", pk=person.pk)
    number = form.cleaned_data["number"].strip()
    try:
        if number:
            household = (
                scoped(Household.objects.all(), request.user, P.VIEW).filter(number=number).first()
            )
            if household is None:
                raise InvalidInput(
                    _("没有找到户号 %(n)s（或不在您的管辖范围内）。") % {"n": number}
                )
        else:
            household = services.household_create(
                actor=request.user,
                house=person.house,
                grid_code=person.region_code,
                request=request,
            )
        services.person_set_household(
            actor=request.user,
            person=person,
            household=household,
            relation_to_head=form.cleaned_data["relation_to_head"],
            request=request,
        )
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已加入户 %(n)s。") % {"n": household.number})
    return redirect("person", pk=person.pk)


# --- building, household ---------------------------------------------------------------------


@login_required
def building_rooms(request, pk: int):
    require_page_perm(request.user, P.VIEW)
    building = S.building_for_user(request.user, pk)
    return render(request, "people/building.html", S.building_rooms(request.user, building))


@login_required
def household_detail(request, pk: int):
    require_page_perm(request.user, P.VIEW)
    household = S.household_for_user(request.user, pk)
    members = S.household_members(household)
    S.attach_visible_tags(request.user, members)
    return render(request, "people/household.html", {"household": household, "members": members})


# --- import ------------------------------------------------------------------------------------


def _import_choices(user):
    communities = scoped(
        Region.objects.filter(level=Level.COMMUNITY), user, P.IMPORT, field="code"
    ).order_by("code")
    return communities, _grids(user, P.IMPORT)


@login_required
def import_page(request):
    require_page_perm(request.user, P.IMPORT)
    communities, grids = _import_choices(request.user)
    form = ImportForm(
        request.POST or None, request.FILES or None, communities=communities, grids=grids
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                importing.check_size(upload.size)  # before reading it into memory
                job = services.import_job_create(
                    actor=request.user,
                    file_name=upload.name,
                    content=upload.read(),
                    community_code=form.cleaned_data["community"],
                    default_grid_code=form.cleaned_data["grid"],
                    dry_run=form.cleaned_data["dry_run"],
                    create_missing=form.cleaned_data["create_missing"],
                    request=request,
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
                status = exc.status
            else:
                return redirect("import-job", pk=job.pk)
        else:
            status = 400
    jobs = scoped(ImportJob.objects.all(), request.user, P.IMPORT).defer(
        "payload", "report", "summary"
    )[:10]
    return render(
        request,
        "people/import.html",
        {"form": form, "jobs": jobs, "max_bytes": importing.max_import_bytes()},
        status=status,
    )


def _job_for(user, pk: int) -> ImportJob:
    return get_scoped_or_404(ImportJob.objects.defer("payload"), user, P.IMPORT, pk=pk)


def _summary_rows(job: ImportJob) -> list[dict]:
    counts = (job.summary or {}).get("counts") or {}
    return [
        {"key": key, "label": label, **counts[key]}
        for key, label in importing.ENTITIES.items()
        if key in counts
    ]


@login_required
def import_job(request, pk: int):
    require_page_perm(request.user, P.IMPORT)
    job = _job_for(request.user, pk)
    context = {
        "job": job,
        "problems": job.errors[:500],
        "warnings": job.warnings[:500],
        "summary_rows": _summary_rows(job),
        "new_places": (job.summary or {}).get("new_places") or {},
    }
    if _htmx(request):
        return render(request, "people/import_job.html#job-status", context)
    return render(request, "people/import_job.html", context)


@login_required
@require_POST
def import_job_confirm(request, pk: int):
    """Import the file of a successful preview."""
    require_page_perm(request.user, P.IMPORT)
    preview = _job_for(request.user, pk)
    try:
        job = services.import_job_confirm(actor=request.user, preview=preview, request=request)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("import-job", pk=preview.pk)
    return redirect("import-job", pk=job.pk)


@login_required
def import_job_report(request, pk: int):
    require_page_perm(request.user, P.IMPORT)
    job = _job_for(request.user, pk)
    return export_response(exporting.import_report(job, actor=request.user, request=request))


@login_required
def import_template(request):
    require_page_perm(request.user, P.IMPORT)
    return template_response(template.import_template(), filename="shequ-people-template.xlsx")


# --- tag vocabulary ------------------------------------------------------------------------------


@login_required
def tag_vocabulary(request):
    """The spellings of each tag that the import recognises (city-wide data)."""
    require_page_perm(request.user, P.MANAGE_TAG_VOCABULARY)
    tag_types = list(TagType.objects.prefetch_related("synonyms").order_by("order", "code"))
    form = TagSynonymForm(request.POST or None, tag_types=tag_types)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            tag_type = next(t for t in tag_types if t.code == form.cleaned_data["tag_type"])
            try:
                services.tag_synonym_add(
                    actor=request.user,
                    tag_type=tag_type,
                    text=form.cleaned_data["text"],
                    request=request,
                )
            except PermissionDeniedError as exc:
                raise PermissionDenied(exc.message) from exc
            except ServiceError as exc:
                apply_service_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("已添加写法。"))
                return redirect("tag-vocabulary")
        else:
            status = 400
    return render(
        request,
        "people/tag_vocabulary.html",
        {"tag_types": tag_types, "form": form},
        status=status,
    )


@login_required
@require_POST
def tag_synonym_remove(request, pk: int):
    require_page_perm(request.user, P.MANAGE_TAG_VOCABULARY)
    synonym = TagSynonym.objects.select_related("tag_type").filter(pk=pk).first()
    if synonym is None:
        raise Http404
    try:
        services.tag_synonym_remove(actor=request.user, synonym=synonym, request=request)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除写法“%(t)s”。") % {"t": synonym.text})
    return redirect("tag-vocabulary")
