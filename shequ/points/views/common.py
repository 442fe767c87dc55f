"""Shared bits of the points pages: running a service and reporting its error in Chinese."""

import uuid
from collections.abc import Callable
from typing import overload

from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect

from shequ.core.errors import ServiceError
from shequ.points.services import person_of


@overload
def run(
    request: HttpRequest, action: Callable[[], None], *, success: str = "", back: str = ""
) -> bool: ...
@overload
def run[T](
    request: HttpRequest, action: Callable[[], T], *, success: str = "", back: str = ""
) -> T | None: ...
def run(
    request: HttpRequest, action: Callable[[], object], *, success: str = "", back: str = ""
) -> object:
    """Call a service; on a ServiceError show its message. Returns the result (True for a
    service that returns nothing) or None."""
    try:
        result = action()
    except ServiceError as error:
        messages.error(request, error.message)
        return None
    if success:
        messages.success(request, success)
    return result if result is not None else True


def back_to(request, fallback: str):
    return redirect(request.POST.get("next") or fallback)


def resident_or_404(request):
    person = person_of(request.user)
    if person is None:
        return None
    return person


def form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else error)


def new_request_key() -> str:
    return uuid.uuid4().hex
