"""Websocket routes of all apps (the telephony issue adds the agent desktop and wallboard)."""

websocket_urlpatterns: list = []
