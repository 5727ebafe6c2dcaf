"""ASGI entry: HTTP through Django, websockets through Channels (routes added by telephony)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvshop.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from telephony import embedded  # noqa: E402
from tvshop.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# Embedded wiring: the built-in simulator and the ESL bridge run in this process
# (see telephony/embedded.py for why they start here).
if embedded.should_start():
    embedded.start()
    application = embedded.capture_loop(application)
