from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "shequ.geo"
    label = "geo"
    verbose_name = _("区域与网格")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from shequ.core.nav import NavEntry, register

        register(
            NavEntry("grid", _("网格地图"), "map", perm="geo.browse", order=10, icon="map"),
            NavEntry("grid", _("区域浏览"), "regions", perm="geo.browse", order=20, icon="tree"),
        )

        from shequ.geo import locate
        from shequ.geo.models import Region

        # Cache invalidation only (no business rule): any grid change rebuilds the index.
        post_save.connect(locate.grids_changed, sender=Region, dispatch_uid="geo-grids-saved")
        post_delete.connect(locate.grids_changed, sender=Region, dispatch_uid="geo-grids-deleted")
