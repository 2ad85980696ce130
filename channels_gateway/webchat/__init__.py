"""Guest web chat: hosted page, embeddable widget, public messages API and the guest's websocket."""
