"""Staff console: pages, API and websocket consumer."""
