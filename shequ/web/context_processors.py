from django.conf import settings
from django.utils.functional import SimpleLazyObject

from shequ.core.nav import entries_for

ELDER_COOKIE = "shequ_elder"


def elder_mode_for(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.elder_mode
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def nav_sections_for(request) -> list[dict]:
    """The user's pillars and entries for the top navigation, the current page marked (its
    group's menu heading too)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    sections = entries_for(user)
    for section in sections:
        for entry in section["entries"]:
            entry["current"] = entry["url"] == request.path
        section["current"] = any(entry["current"] for entry in section["entries"])
    return sections


def shell(request):
    return {
        "elder_mode": elder_mode_for(request),
        "nav_sections": SimpleLazyObject(lambda: nav_sections_for(request)),
        "demo_mode": settings.DEMO_MODE,
    }
