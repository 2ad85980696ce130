"""Websocket routes. The staff console consumers join here (see the console issue)."""

websocket_urlpatterns: list = []
