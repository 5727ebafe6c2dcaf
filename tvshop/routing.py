"""Websocket routes of all apps."""

from django.urls import path

from telephony.consumers import DesktopConsumer

websocket_urlpatterns: list = [
    path("ws/desktop/", DesktopConsumer.as_asgi()),
]
