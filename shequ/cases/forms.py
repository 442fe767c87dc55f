"""Page forms: parse what people typed into the arguments of the services (which validate)."""

from django.utils.translation import gettext as _

from shequ.cases.workflow import Action


def form_attributes(post, prefix: str = "attr_") -> dict:
    """attr_<code> fields → {code: value}; several values (checkboxes) → a list."""
    result = {}
    for key in post:
        if key.startswith(prefix):
            values = [v for v in post.getlist(key) if v != ""]
            if values:
                result[key[len(prefix) :]] = values if len(values) > 1 else values[0]
    return result


def report_arguments(post, files) -> dict:
    return {
        "category": post.get("category", ""),
        "description": post.get("description", ""),
        "lat": post.get("lat") or None,
        "lng": post.get("lng") or None,
        "crs": post.get("crs") or "wgs84",
        "building": post.get("building") or None,
        "address": post.get("address", ""),
        "attributes": form_attributes(post),
        "photos": files.getlist("photos"),
    }


def _bool(value) -> bool:
    return str(value).lower() in ("1", "true", "on", "yes")


def action_arguments(action: str, post, files) -> dict:
    """The service parameters of an action from a form post."""
    params: dict = {}
    for name in ("note", "reason", "comment", "rating", "category", "priority", "handler_type"):
        if post.get(name) not in (None, ""):
            params[name] = post.get(name)
    for name in ("amount", "handler_company"):
        if post.get(name) not in (None, ""):
            params[name] = post.get(name)
    if action == Action.APPROVE_EXTENSION:
        params["approved"] = post.get("decision", "approve") == "approve"
    if action == Action.RATE:
        params["reopen"] = _bool(post.get("reopen"))
    if action == Action.VISIT:
        params["contacted"] = _bool(post.get("contacted", "1"))
        params["resolved"] = _bool(post.get("resolved", "1"))
    if files.getlist("photos"):
        params["photos"] = files.getlist("photos")
    return params


def error_lines(exc) -> list[str]:
    details = getattr(exc, "details", None)
    if isinstance(details, list) and details:
        return [d.get("message", "") for d in details if isinstance(d, dict)]
    return [exc.message or _("操作失败。")]
