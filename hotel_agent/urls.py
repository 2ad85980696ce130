from django.contrib import admin
from django.urls import include, path

from hotel_agent import health

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("", include("django_prometheus.urls")),
    path("webhooks/", include("channels_gateway.urls")),
    path("admin/", admin.site.urls),
]
