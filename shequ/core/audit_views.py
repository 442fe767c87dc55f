"""The auditor's page: search the append-only audit log inside their scope (read-only)."""

from typing import cast
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from shequ.core.audit import action_choices, audit_search, object_type_choices
from shequ.core.scoping import has_perm

SEARCH_PERM = "core.search_audit"


class DateInput(forms.DateInput):
    input_type = "date"


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("操作人账号"), max_length=150, required=False)
    action = forms.ChoiceField(label=_("操作"), required=False)
    object_type = forms.ChoiceField(label=_("对象类型"), required=False)
    object_id = forms.CharField(label=_("对象编号"), max_length=64, required=False)
    reason = forms.CharField(label=_("理由包含"), max_length=100, required=False)
    region = forms.CharField(label=_("区域代码"), max_length=15, required=False)
    since = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("截止日期"), required=False, widget=DateInput())

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Grouped by app: one <optgroup> per app, the actions by their Chinese names.
        # (self.fields holds the declared fields, typed as the Field base class.)
        cast(forms.ChoiceField, self.fields["action"]).choices = [("", _("全部")), *actions]
        cast(forms.ChoiceField, self.fields["object_type"]).choices = [
            ("", _("全部")),
            *object_type_choices(),
        ]


@login_required
def audit_log(request):
    if not has_perm(request.user, SEARCH_PERM):
        raise Http404
    form = AuditSearchForm(request.GET or None, actions=action_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    after = request.GET.get("after", "")
    result = audit_search(
        request.user,
        **{k: v for k, v in filters.items() if v},
        after=int(after) if after.isdigit() else None,
    )
    params = {k: request.GET[k] for k in form.fields if request.GET.get(k)}
    context = {
        "form": form,
        **result,
        "next_url": (
            "?" + urlencode({**params, "after": result["next_cursor"]})
            if result["next_cursor"]
            else ""
        ),
        "first_url": "?" + urlencode(params) if after else "",
    }
    if request.headers.get("HX-Request"):
        return render(request, "core/audit.html#audit-results", context)
    return render(request, "core/audit.html", context)
