from django.urls import path

from channels_gateway.webchat import views

urlpatterns = [
    path("chat/<slug:tenant_slug>/", views.chat_page, name="webchat-page"),
    path("webchat/widget.js", views.widget_script, name="webchat-widget"),
    path("webchat/<str:public_key>/messages/", views.WebChatMessagesView.as_view(), name="webchat-messages"),
]
