from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from hotel_agent import health

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("", include("django_prometheus.urls")),
    path("webhooks/", include("channels_gateway.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("tenants.auth_views")),
    path("", include("channels_gateway.webchat.urls")),
    path("api/console/", include("conversations.console.api_urls")),
    path("console/", include("conversations.console.page_urls")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("i18n/", include("django.conf.urls.i18n")),
]
