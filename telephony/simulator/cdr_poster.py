"""What FreeSWITCH's mod_json_cdr does, for the simulator: one JSON CDR per channel leg when
the leg is done, posted over HTTP to the application (``/telephony/cdr/``).

Separate from the switch on purpose: it only listens (``Switch.hangup_listeners``), so the
switch does not need to know about it. Attach it to a running switch::

    poster = CdrPoster(server.switch, url="http://127.0.0.1:8000/telephony/cdr/",
                       username="freeswitch", password="…")           # posts as calls end
    poster = CdrPoster(server.switch)                                 # only collects
    ...
    await poster.post_all(url, username, password)                   # post what it collected
    poster.close()

The document has mod_json_cdr's shape (``core-uuid``, ``switchname``, ``channel_data``,
``variables``, ``app_log``, ``callflow`` with ``caller_profile`` and ``times``); the variables
are the channel's own plus the billing variables (``start_uepoch`` …, ``billsec``) — what the
leg's CHANNEL_HANGUP_COMPLETE carries. ``encode`` is mod_json_cdr's setting: ``true`` posts
the form ``cdr=<url-encoded JSON>``, ``base64`` the form ``cdr=<base64>``, ``false`` the JSON
(``application/json``); ``encode_values`` URL-encodes every value as the module does by default.

Pure asyncio + stdlib (HTTP with ``urllib`` on a worker thread), like the rest of the simulator.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote

from telephony.simulator.channels import Channel, us

logger = logging.getLogger("telephony.simulator.cdr")

#: Billing variables FreeSWITCH computes at hang-up (``switch_channel_set_timestamps``).
BILLING_VARIABLES = [
    f"{mark}_{unit}"
    for mark in ("start", "profile_start", "answer", "bridge", "progress", "progress_media", "end")
    for unit in ("stamp", "epoch", "uepoch")
] + [
    "last_hold_epoch",
    "last_hold_uepoch",
    "resurrect_epoch",
    "resurrect_uepoch",
    "hold_accum_seconds",
    "hold_accum_usec",
    "hold_accum_ms",
    "duration",
    "mduration",
    "uduration",
    "billsec",
    "billmsec",
    "billusec",
    "flow_billsec",
    "flow_billmsec",
    "flow_billusec",
    "progresssec",
    "progressmsec",
    "progressusec",
    "answersec",
    "answermsec",
    "answerusec",
    "waitsec",
    "waitmsec",
    "waitusec",
    "progress_mediasec",
    "progress_mediamsec",
    "progress_mediausec",
]


def build_cdr(ch: Channel, *, core_uuid: str, switchname: str) -> dict:
    """The JSON CDR of a hung-up channel (values not yet URL-encoded)."""
    variables = dict(ch.vars)
    for name in BILLING_VARIABLES:
        value = ch.time_var(name)
        if value is not None:
            variables.setdefault(name, value)
    variables.setdefault("uuid", ch.uuid)
    variables.setdefault("direction", ch.direction)
    if ch.hangup_cause:
        variables.setdefault("hangup_cause", ch.hangup_cause)
    profile = {
        "username": ch.username,
        "dialplan": ch.dialplan,
        "caller_id_name": ch.orig_cid_name,
        "ani": ch.ani,
        "aniii": "",
        "caller_id_number": ch.orig_cid_number,
        "network_addr": ch.network_addr,
        "rdnis": ch.rdnis or "",
        "destination_number": ch.initial_dest,
        "uuid": ch.uuid,
        "source": ch.source,
        "context": ch.initial_context,
        "chan_name": ch.name,
    }
    times = {
        "created_time": us(ch.created),
        "profile_created_time": us(ch.profile_created),
        "progress_time": us(ch.progress),
        "progress_media_time": us(ch.progress_media),
        "answered_time": us(ch.answered),
        "bridged_time": us(ch.bridged_at),
        "last_hold_time": "0",
        "hold_accum_time": "0",
        "hangup_time": us(ch.hangup_at),
        "resurrect_time": "0",
        "transfer_time": us(ch.transfer_at),
    }
    return {
        "core-uuid": core_uuid,
        "switchname": switchname,
        "channel_data": {
            "state": "CS_REPORTING",
            "direction": ch.direction,
            "state_number": "11",
            "flags": "0=1;1=1",
            "caps": "1=1;2=1",
        },
        "variables": variables,
        "app_log": {"applications": []},
        "callflow": [
            {
                "dialplan": ch.dialplan,
                "profile_index": "1",
                "extension": {"name": ch.initial_dest, "number": ch.initial_dest},
                "caller_profile": profile,
                "times": times,
            }
        ],
    }


def _encode_values(value):
    if isinstance(value, dict):
        return {k: _encode_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_values(v) for v in value]
    if isinstance(value, str):
        return quote(value, safe="")
    return value


def encode_body(
    cdr: dict, *, encode: str = "true", encode_values: bool = True
) -> tuple[bytes, str]:
    """``(body, content type)`` as mod_json_cdr posts ``cdr`` with its ``encode`` setting."""
    document = _encode_values(cdr) if encode_values else cdr
    text = json.dumps(document, ensure_ascii=False)
    if encode == "false":
        return text.encode(), "application/json"
    if encode == "base64":
        payload = base64.b64encode(text.encode()).decode()
        return f"cdr={quote(payload, safe='')}".encode(), "application/x-www-form-urlencoded"
    return f"cdr={quote(text, safe='')}".encode(), "application/x-www-form-urlencoded"


@dataclass
class PostResult:
    uuid: str
    status: int
    body: str


@dataclass
class CdrPoster:
    """Collects (and optionally posts) the CDR of every leg the switch hangs up."""

    switch: object
    url: str | None = None
    username: str = ""
    password: str = ""
    encode: str = "true"
    encode_values: bool = True
    timeout: float = 10.0
    records: list[dict] = field(default_factory=list)
    results: list[PostResult] = field(default_factory=list)
    _pending: set[asyncio.Task] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.switch.hangup_listeners.append(self._hung_up)

    def close(self) -> None:
        if self._hung_up in self.switch.hangup_listeners:
            self.switch.hangup_listeners.remove(self._hung_up)

    def _hung_up(self, ch: Channel) -> None:
        # The listener runs at the start of the hang-up; the CDR is written when it is done
        # (the switch's on_reporting), i.e. once Switch.hangup has returned.
        asyncio.get_running_loop().call_soon(self._record, ch)

    def _record(self, ch: Channel) -> None:
        cdr = build_cdr(ch, core_uuid=self.switch.core_uuid, switchname=self.switch.hostname)
        self.records.append(cdr)
        if self.url:
            task = asyncio.ensure_future(self.post(cdr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def wait_posted(self, timeout: float = 30.0) -> None:
        """Wait until every CDR posted as calls ended has had its answer."""
        async with asyncio.timeout(timeout):
            while self._pending:
                await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def post(
        self, cdr: dict, url: str | None = None, username: str | None = None, password=None
    ) -> PostResult:
        """POST one CDR (as mod_json_cdr would) and keep the answer in :attr:`results`."""
        body, content_type = encode_body(cdr, encode=self.encode, encode_values=self.encode_values)
        target = url or self.url or ""
        if not target.startswith(("http://", "https://")):
            raise ValueError(f"CDR url must be http(s): {target!r}")
        request = urllib.request.Request(target, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", content_type)
        user = self.username if username is None else username
        secret = self.password if password is None else password
        if user or secret:
            token = base64.b64encode(f"{user}:{secret}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        uuid = cdr.get("variables", {}).get("uuid", "")

        def send() -> PostResult:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return PostResult(uuid, response.status, response.read().decode())
            except urllib.error.HTTPError as exc:
                return PostResult(uuid, exc.code, exc.read().decode(errors="replace"))
            except OSError as exc:  # the app is down: mod_json_cdr would retry, then spool
                return PostResult(uuid, 0, str(exc))

        result = await asyncio.to_thread(send)
        if result.status != 200:
            logger.warning("CDR %s: HTTP %s %s", uuid, result.status, result.body[:200])
        self.results.append(result)
        return result

    async def post_all(
        self, url: str, username: str = "", password: str = "", concurrency: int = 4
    ) -> list[PostResult]:
        """POST every collected CDR, ``concurrency`` at a time, in the order legs ended."""
        gate = asyncio.Semaphore(concurrency)

        async def one(cdr: dict) -> PostResult:
            async with gate:
                return await self.post(cdr, url, username, password)

        return list(await asyncio.gather(*(one(cdr) for cdr in list(self.records))))
