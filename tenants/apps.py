from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Hotels")

    def ready(self) -> None:
        from tenants import (
            auth,  # noqa: F401  (active hotel on login)
            receivers,  # noqa: F401  (cache invalidation)
        )
