"""Staff console pages, mounted at ``/console/`` (the JSON API lives at ``/api/console/``)."""

from django.urls import path

from conversations.console import views

urlpatterns = [
    path("", views.queue, name="console-queue"),
    path("conversations/", views.conversations, name="console-conversations"),
    path("c/<uuid:conversation_id>/", views.conversation, name="console-conversation"),
    path("hotel/", views.switch_tenant, name="console-switch-tenant"),
]
