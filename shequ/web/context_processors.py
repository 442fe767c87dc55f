from django.conf import settings
from django.utils.functional import SimpleLazyObject

from shequ.core.nav import entries_for

ELDER_COOKIE = "shequ_elder"


def elder_mode_for(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.elder_mode
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def shell(request):
    user = getattr(request, "user", None)
    return {
        "elder_mode": elder_mode_for(request),
        "nav_sections": SimpleLazyObject(
            lambda: entries_for(user) if user is not None and user.is_authenticated else []
        ),
        "demo_mode": settings.DEMO_MODE,
    }
