"""Channel-layer group names shared by the bridge, the consumers and the desktop views."""

from __future__ import annotations

SUPERVISORS = "supervisors"
WALLBOARD = "wallboard"


def agent_group(user_id: int | str) -> str:
    """The group of one user's desktop sockets: ``agent.<id>``."""
    return f"agent.{user_id}"
