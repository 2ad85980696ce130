"""Staff console JSON API, mounted at ``/api/console/`` (see ``conversations.console.api``)."""

from django.urls import path

from conversations.console import api

urlpatterns = [
    path("conversations/", api.ConversationListApi.as_view(), name="console-api-conversations"),
    path("conversations/<uuid:conversation_id>/", api.ConversationDetailApi.as_view(), name="console-api-conversation"),
    path(
        "conversations/<uuid:conversation_id>/messages/",
        api.ConversationMessagesApi.as_view(),
        name="console-api-messages",
    ),
    path("conversations/<uuid:conversation_id>/claim/", api.ConversationClaimApi.as_view(), name="console-api-claim"),
    path(
        "conversations/<uuid:conversation_id>/release/",
        api.ConversationReleaseApi.as_view(),
        name="console-api-release",
    ),
    path(
        "conversations/<uuid:conversation_id>/resolve/",
        api.ConversationResolveApi.as_view(),
        name="console-api-resolve",
    ),
    path("conversations/<uuid:conversation_id>/reply/", api.ConversationReplyApi.as_view(), name="console-api-reply"),
    path("conversations/<uuid:conversation_id>/notes/", api.ConversationNotesApi.as_view(), name="console-api-notes"),
    path("canned-replies/", api.CannedReplyListApi.as_view(), name="console-api-canned-replies"),
    path("events/", api.EventReplayApi.as_view(), name="console-api-events"),
]
