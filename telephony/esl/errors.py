"""Exceptions raised by the ESL layer.

Every error the client or the parsers raise is an :class:`ESLError`, so a caller that only
wants "the switch did not do it" catches one class; the subclasses say why.
"""

from __future__ import annotations


class ESLError(Exception):
    """Base class of every error raised by :mod:`telephony.esl`."""


class ProtocolError(ESLError):
    """The peer sent bytes that are not valid ESL (bad framing, bad event body).

    On a live connection this is fatal for that connection: the byte stream can no longer be
    trusted to be in sync, so the client drops it and reconnects.
    """


class AuthError(ESLError):
    """The switch refused our password (``-ERR invalid`` in reply to ``auth``).

    Retrying cannot help, so the client stops instead of reconnecting.
    """


class AccessDenied(ESLError):
    """The switch's ACL refused the connection (``text/rude-rejection``)."""


class CommandError(ESLError):
    """A command was answered with ``-ERR`` (or ``-USAGE``).

    ``command`` is the command as sent (e.g. ``"api uuid_kill 0000…"``) and ``reply`` is the
    switch's error text (e.g. ``"-ERR No such channel!"``), so the message alone tells an
    operator what failed and why.
    """

    def __init__(self, command: str, reply: str) -> None:
        self.command = command
        self.reply = reply.strip()
        super().__init__(f"ESL command {command!r} failed: {self.reply}")


class ConnectionLost(ESLError):
    """The connection ended (or was not up) before the awaited reply or job result arrived."""
