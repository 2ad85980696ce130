from django.urls import path

from channels_gateway import views

urlpatterns = [
    path("whatsapp/", views.WhatsAppWebhookView.as_view(), name="webhook-whatsapp"),
]
