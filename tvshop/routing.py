"""Websocket routes of all apps."""

from django.urls import path

from telephony.consumers import DesktopConsumer
from telephony.supervision.consumers import WallboardConsumer

websocket_urlpatterns: list = [
    path("ws/desktop/", DesktopConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]
