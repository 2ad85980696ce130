from django.apps import AppConfig


class HotelAgentConfig(AppConfig):
    name = "hotel_agent"

    def ready(self) -> None:
        from hotel_agent.observability import configure_tracing

        configure_tracing()
