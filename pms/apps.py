from django.apps import AppConfig


class PmsConfig(AppConfig):
    name = "pms"
    verbose_name = "PMS"

    def ready(self) -> None:
        from hotel_agent.health import NON_FATAL_CHECKS
        from pms.services import pms_health_check

        NON_FATAL_CHECKS["pms"] = pms_health_check
