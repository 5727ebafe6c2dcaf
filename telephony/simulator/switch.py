"""The simulated switch: channels, the hotline dialplan, mod_callcenter, originate and the
``api`` commands the project uses. Pure asyncio, no I/O: events go to ``listeners``
(the ESL server broadcasts them), ``api()`` returns the text a real switch would.

The hotline dialplan emulated here is, in real FreeSWITCH XML (the shipped config should
mirror it; ``${hash(select/…)}`` is mod_hash, ``${global_getvar}`` the global variables)::

    <extension name="tvshop_hotline_4008001234">
      <condition field="destination_number" expression="^(4008001234)$">
        <action application="set" data="tvshop_dnis=$1"/>
        <action application="set" data="tvshop_queue=orders"/>
      </condition>
      <condition field="${hash(select/tvshop_blacklist/${caller_id_number})}" expression="^.+$"
                 break="on-true">
        <action application="set" data="tvshop_blacklisted=true"/>
        <action application="hangup" data="CALL_REJECTED"/>
      </condition>
      <condition field="${hash(select/tvshop_vip/${caller_id_number})}" expression="^(.+)$"
                 break="never">
        <action application="set" data="tvshop_vip=true"/>
        <action application="set" data="cc_base_score=${cond($1 > 1 ? $1 : 1000)}"/>
      </condition>
      <condition field="${hash(select/tvshop_lastagent/${caller_id_number})}"
                 expression="^(.+)$" break="never">
        <!-- mod_callcenter has no "preferred agent"; the shipped config needs a small
             script or a per-call tier for it. The simulator offers the call to this agent
             first when the agent is Available and Waiting. -->
        <action application="set" data="tvshop_last_agent=$1"/>
      </condition>
      <condition field="${global_getvar(tvshop_overflow_orders)}" expression="^true$"
                 break="on-true">
        <action application="set" data="tvshop_callback_reason=overflow_switch"/>
        <action application="transfer" data="tvshop_overflow XML default"/>
      </condition>
      <condition>
        <action application="set" data="hangup_after_bridge=true"/>
        <action application="answer"/>
        <action application="callcenter" data="orders"/>
        <!-- only reached when the member left the queue without being served
             (max-wait-time: cc_cancel_reason=TIMEOUT) -->
        <action application="set" data="tvshop_callback_reason=max_wait"/>
        <action application="transfer" data="tvshop_overflow XML default"/>
      </condition>
    </extension>

    <extension name="tvshop_overflow">
      <condition field="destination_number" expression="^tvshop_overflow$">
        <action application="answer"/>
        <action application="set" data="tvshop_callback=true"/>
        <action application="export" data="tvshop_callback=true"/>
        <action application="playback" data="tvshop/we_will_call_you_back.wav"/>
        <action application="hangup" data="NORMAL_CLEARING"/>
      </condition>
    </extension>

The bridge reads ``variable_tvshop_callback=true`` (and ``tvshop_callback_reason``,
``tvshop_dnis``, ``cc_queue``) on the caller leg's CHANNEL_HANGUP_COMPLETE.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import random
import re
import shlex
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.esl.frames import Header
from telephony.simulator import templates
from telephony.simulator.channels import (
    AGENT,
    AGENT_ORIG,
    CUST_A,
    CUST_B,
    LOOP_A,
    LOOP_B,
    SOFIA_IN,
    TEMPLATE_FALLBACK,
    Channel,
)
from telephony.simulator.clock import SimClock
from telephony.simulator.config import (
    AGENT_STATES,
    AGENT_STATUSES,
    AgentConfig,
    QueueConfig,
    SimConfig,
    TierConfig,
)

logger = logging.getLogger("telephony.simulator")

VERSION = "1.11.1-release+git~20260526T204126Z~c2c59645f6~64bit"
Q850 = {
    "NORMAL_CLEARING": "16",
    "CALL_REJECTED": "21",
    "USER_BUSY": "17",
    "NO_ANSWER": "19",
    "NO_USER_RESPONSE": "18",
    "ORIGINATOR_CANCEL": "487",
    "SUBSCRIBER_ABSENT": "20",
    "NO_ROUTE_DESTINATION": "3",
    "LOSE_RACE": "502",
    "ALLOTTED_TIMEOUT": "602",
}
AGENT_LIST_COLUMNS = (
    "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|"
    "reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|"
    "last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|"
    "external_calls_count"
)
QUEUE_LIST_COLUMNS = (
    "name|strategy|moh_sound|time_base_score|tier_rules_apply|tier_rule_wait_second|"
    "tier_rule_wait_multiply_level|tier_rule_no_agent_no_wait|discard_abandoned_after|"
    "abandoned_resume_allowed|max_wait_time|max_wait_time_with_no_agent|"
    "max_wait_time_with_no_agent_time_reached|record_template|calls_answered|calls_abandoned|"
    "ring_progressively_delay|skip_agents_with_external_calls|agent_no_answer_status"
)
MEMBER_LIST_COLUMNS = (
    "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|"
    "rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|"
    "serving_system|state|score"
)
TIER_LIST_COLUMNS = "queue|agent|state|level|position"
SHOW_CALLS_KEYS = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
]
CUSTOMER_NUMBER = re.compile(r"^\+?\d{5,20}$")
_ORIGINATE_VARS = re.compile(r"^(?:\{([^}]*)\}|\[([^\]]*)\]|<([^>]*)>)")
SYSTEM = "single_box"

Listener = Callable[[list[Header], "str | None"], None]


class Hangup(Exception):
    """Raised inside a dialplan coroutine when its channel hung up."""


@dataclass(eq=False)
class Agent:
    cfg: AgentConfig
    status: str
    state: str = "Waiting"
    leg: Channel | None = None
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    last_offered_call: int = 0
    last_status_change: int = 0
    no_answer_count: int = 0
    calls_answered: int = 0
    talk_time: int = 0
    ready_time: int = 0
    external_calls: int = 0
    offered: int = 0

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def busy(self) -> bool:
        return self.leg is not None or self.external_calls > 0


@dataclass(eq=False)
class Member:
    uuid: str
    channel: Channel
    queue: Queue
    base_score: int
    joined: float
    preferred: str | None = None
    state: str = "Waiting"
    agent: Agent | None = None
    bridge_epoch: int = 0
    abandoned_epoch: int = 0
    result: asyncio.Future[str] | None = None
    bridged: asyncio.Event = field(default_factory=asyncio.Event)
    left: asyncio.Event = field(default_factory=asyncio.Event)  # left the queue unserved
    tried: set[str] = field(default_factory=set)
    agent_leg: Channel | None = None

    def score(self, now: float) -> int:
        return self.base_score + int(now - self.joined)


@dataclass(eq=False)
class Queue:
    cfg: QueueConfig
    members: list[Member] = field(default_factory=list)
    calls_answered: int = 0
    calls_abandoned: int = 0
    rr_last_position: int = 0

    @property
    def name(self) -> str:
        return self.cfg.name


def parse_vars(text: str) -> dict[str, str]:
    """``a=1,b='x y'`` → dict (FreeSWITCH's ``{…}`` originate variables)."""
    out: dict[str, str] = {}
    for item in re.split(r",(?=[A-Za-z_][\w.]*=)", text):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = value.strip().strip("'")
    return out


def split_vars(text: str) -> tuple[dict[str, str], str]:
    """Leading ``{…}``/``[…]`` blocks of a dial string → (variables, rest)."""
    variables: dict[str, str] = {}
    rest = text.strip()
    while True:
        match = _ORIGINATE_VARS.match(rest)
        if not match:
            return variables, rest
        variables.update(parse_vars(next(g for g in match.groups() if g is not None)))
        rest = rest[match.end() :]


class Switch:
    """One simulated FreeSWITCH box."""

    def __init__(
        self,
        config: SimConfig,
        *,
        clock: SimClock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SimClock(config.speed)
        self.rng = rng or random.Random(config.seed)
        self.core_uuid = config.core_uuid or str(uuid_module.UUID(int=self.rng.getrandbits(128)))
        self.hostname = config.hostname
        self.templates = templates.load()
        self.listeners: list[Listener] = []
        self.hangup_listeners: list[Callable[[Channel], None]] = []
        self.channels: dict[str, Channel] = {}
        self.hash: dict[tuple[str, str], str] = {}
        self.globals: dict[str, str] = {}
        self.eavesdrops: dict[str, str] = {}  # supervisor leg uuid → eavesdropped call uuid
        self.agents: dict[str, Agent] = {}
        self.queues: dict[str, Queue] = {}
        self.hotlines = {h.number: h for h in config.hotlines}
        self.started = self.clock.now()
        self.sessions_since_startup = 0
        self.peak_sessions = 0
        self._sequence = itertools.count(1)
        self._session_ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        for agent_cfg in config.agents:
            self.agents[agent_cfg.name] = Agent(
                cfg=agent_cfg, status=agent_cfg.status, last_status_change=int(self.started)
            )
        for queue_cfg in config.queues:
            self.queues[queue_cfg.name] = Queue(cfg=queue_cfg)

    # -- lifecycle ------------------------------------------------------------------------

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, Hangup):
                logger.error("simulator task failed", exc_info=exc)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def new_uuid(self) -> str:
        return str(uuid_module.UUID(int=self.rng.getrandbits(128), version=4))

    def now(self) -> float:
        return self.clock.now()

    # -- events ---------------------------------------------------------------------------

    def common(self, name: str) -> dict[str, str]:
        now = self.now()
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        return {
            "Event-Name": name,
            "Core-UUID": self.core_uuid,
            "FreeSWITCH-Hostname": self.hostname,
            "FreeSWITCH-Switchname": self.hostname,
            "FreeSWITCH-IPv4": "127.0.0.1",
            "FreeSWITCH-IPv6": "::1",
            "Event-Date-Local": when.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "Event-Date-GMT": when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "Event-Date-Timestamp": str(int(now * 1_000_000)),
            "Event-Sequence": str(next(self._sequence)),
        }

    def send(self, headers: list[Header], body: str | None = None) -> None:
        for listener in list(self.listeners):
            listener(headers, body)

    def _template(self, keys: list[str]) -> tuple[Header, ...]:
        for key in keys:
            if key in self.templates:
                return self.templates[key]
        raise KeyError(f"no event template among {keys}")

    def emit_channel(self, ch: Channel, event: str) -> None:
        tpl = self._template([f"{k}/{event}" for k in TEMPLATE_FALLBACK[ch.kind]])
        name = "CUSTOM" if event.startswith("cc/") else event
        self.send(templates.fill(tpl, self.common(name), ch, now=self.now()))

    def emit_hold(self, ch: Channel, event: str) -> None:
        """``CHANNEL_HOLD`` / ``CHANNEL_UNHOLD``. No capture of these exists
        (``../shared/esl-captures``); FreeSWITCH fires them from ``switch_channel_mark_hold``
        (switch_channel.c) with ``switch_channel_event_set_data`` — the held channel's full
        data, the very header set of its other ``CHANNEL_*`` events — so the event is built
        from the leg's captured CHANNEL_BRIDGE (bridged: with its ``Other-Leg-*`` block),
        else CHANNEL_ANSWER, with what hold changes: ``Channel-Call-State: HELD`` (back to
        ``ACTIVE`` on unhold), ``Caller-Channel-Last-Hold`` (µs, when the hold began) and
        ``Caller-Channel-Hold-Accum`` (µs on hold so far, grown at each unhold)."""
        kinds = TEMPLATE_FALLBACK[ch.kind]
        tpl = self._template(
            [f"{k}/CHANNEL_BRIDGE" for k in kinds] + [f"{k}/CHANNEL_ANSWER" for k in kinds]
        )
        fixed = {
            "Event-Calling-File": "switch_channel.c",
            "Event-Calling-Function": "switch_channel_mark_hold",
            "Channel-Call-State": "HELD" if event == "CHANNEL_HOLD" else "ACTIVE",
            "Answer-State": "answered",
        }
        headers = templates.fill(tpl, self.common(event), ch, now=self.now())
        self.send([(n, fixed.get(n, v)) for n, v in headers])

    def hold(self, ch: Channel, on: bool) -> bool:
        """``uuid_hold`` on ``ch``: the other party hears music on hold. False if there is
        nothing to change (not answered, already in that state)."""
        if not ch.is_up or not ch.answered or ch.held == on:
            return False
        now = self.now()
        if on:
            ch.held, ch.last_hold, ch.callstate = True, now, "HELD"
            self.emit_hold(ch, "CHANNEL_HOLD")
        else:
            ch.hold_accum += max(0.0, now - ch.last_hold)
            ch.held, ch.callstate = False, "ACTIVE"
            self.emit_hold(ch, "CHANNEL_UNHOLD")
        return True

    async def _agent_holds(self, leg: Channel, agent: Agent) -> None:
        """A simulated agent puts the caller on hold once (see ``AgentConfig.hold_*``)."""
        cfg = agent.cfg
        if await self.wait(cfg.hold_after, leg.hungup_event) is not None or not leg.is_up:
            return
        self.hold(leg, True)
        await self.wait(cfg.hold_seconds, leg.hungup_event)
        if leg.is_up:
            self.hold(leg, False)

    def emit_cc(self, action: str, cc: list[Header], ch: Channel | None = None) -> None:
        keys = [f"{k}/cc/{action}" for k in TEMPLATE_FALLBACK[ch.kind]] if ch else []
        if ch is not None and action.startswith("member-"):
            keys += [f"{k}/cc/member-queue-end" for k in TEMPLATE_FALLBACK[ch.kind]]
        if ch is not None and action.startswith("bridge-"):
            keys += ["agent/cc/bridge-agent-start"]
        keys += [f"cc/{action}", "cc/agent-offering"]
        tpl = self._template(keys)
        if ch is None:
            tpl = tuple(h for h in tpl if not h[0].startswith(("Channel-", "Caller-")))
        common = self.common("CUSTOM")
        common["Event-Subclass"] = "callcenter::info"
        self.send(templates.fill(tpl, common, ch, cc=cc, now=self.now()))

    def emit_background_job(self, job_uuid: str, command: str, output: str) -> None:
        tpl = self.templates["BACKGROUND_JOB"]
        word, _, rest = command.partition(" ")
        values = {"Job-UUID": job_uuid, "Job-Command": word}
        headers = [
            (n, values.get(n, v)) for n, v in templates.fill(tpl, self.common("BACKGROUND_JOB"))
        ]
        headers = [(n, v) for n, v in headers if n != "Job-Command-Arg"]
        if rest:
            headers.append(("Job-Command-Arg", rest))
        self.send(headers, output)

    def heartbeat(self) -> list[Header]:
        tpl = self.templates["HEARTBEAT"]
        up_ms = int((self.now() - self.started) * 1000)
        seconds, ms = divmod(up_ms, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        live = str(len(self.channels))
        values = {
            "Up-Time": f"0 years, {days} days, {hours} hours, {minutes} minutes, "
            f"{seconds} seconds, {ms} milliseconds, 0 microseconds",
            "FreeSWITCH-Version": VERSION,
            "Uptime-msec": str(up_ms),
            "Session-Count": live,
            "Session-Since-Startup": str(self.sessions_since_startup),
            "Session-Peak-Max": str(self.peak_sessions),
            "Session-Peak-FiveMin": str(self.peak_sessions),
            "Idle-CPU": "99.000000",
        }
        return [(n, values.get(n, v)) for n, v in templates.fill(tpl, self.common("HEARTBEAT"))]

    def _cc_agent_state(self, agent: Agent, state: str) -> None:
        agent.state = state
        self.emit_cc(
            "agent-state-change",
            [
                ("CC-Agent", agent.name),
                ("CC-Action", "agent-state-change"),
                ("CC-Agent-State", state),
            ],
        )

    def _cc_agent_status(self, agent: Agent, status: str) -> None:
        agent.status = status
        agent.last_status_change = int(self.now())
        self.emit_cc(
            "agent-status-change",
            [
                ("CC-Agent", agent.name),
                ("CC-Action", "agent-status-change"),
                ("CC-Agent-Status", status),
            ],
        )

    def _members_count(self, queue: Queue) -> None:
        count = sum(1 for m in queue.members if m.state in ("Waiting", "Trying"))
        self.emit_cc(
            "members-count",
            [
                ("CC-Queue", queue.name),
                ("CC-Action", "members-count"),
                ("CC-Count", str(count)),
                ("CC-Selection", "Single-Queue"),
            ],
        )

    # -- channels -------------------------------------------------------------------------

    def new_channel(self, kind: str, **fields) -> Channel:
        now = self.now()
        fields.setdefault("uuid", self.new_uuid())
        fields.setdefault("context", "default")
        ch = Channel(kind=kind, created=now, **fields)
        ch.set(
            direction=ch.direction,
            uuid=ch.uuid,
            call_uuid=ch.uuid,
            session_id=next(self._session_ids),
            channel_name=ch.name,
        )
        if ch.direction == "outbound":
            ch.set(is_outbound="true")
        self.channels[ch.uuid] = ch
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        return ch

    def create(self, ch: Channel) -> None:
        self.emit_channel(ch, "CHANNEL_CREATE")

    def answer(self, ch: Channel) -> None:
        if not ch.is_up:
            raise Hangup(ch.uuid)
        if ch.answered:
            return
        now = self.now()
        ch.answered = now
        ch.progress_media = ch.progress_media or now
        ch.state = "CS_EXECUTE" if ch.direction == "inbound" else "CS_CONSUME_MEDIA"
        ch.callstate = "ACTIVE"
        if ch.kind == SOFIA_IN:
            ch.set(endpoint_disposition="ANSWER")
        self.emit_channel(ch, "CHANNEL_ANSWER")
        if ch.agent is not None:  # the phone's auto-answer (what the capture's null/ did)
            ch.vars.pop("cc_member_pre_answer_uuid", None)
            ch.set(
                endpoint_disposition="ANSWER",
                current_application_data=f"user/{ch.vars.get('dialed_user', '')}",
                current_application="answer",
                transfer_fallback_extension="operator",
            )
        ch.answered_event.set()
        if ch.loop_partner is not None and not ch.loop_partner.answered:
            self.answer(ch.loop_partner)

    def ring(self, ch: Channel) -> None:
        if ch.progress or not ch.is_up:
            return
        ch.progress = self.now()
        ch.callstate = "RINGING"
        self.emit_channel(ch, "CHANNEL_PROGRESS")
        if ch.loop_partner is not None:
            self.ring(ch.loop_partner)

    def park(self, ch: Channel) -> None:
        ch.application, ch.application_data = "park", ""
        ch.set(current_application="park")
        self.emit_channel(ch, "CHANNEL_PARK")

    def bridge(self, a: Channel, b: Channel, *, event_on: Channel | None = None) -> None:
        """Bridge ``a`` (the leg that runs the bridge) with ``b``; CHANNEL_BRIDGE on ``a``."""
        now = self.now()
        for x, y, other_type in ((a, b, "originatee"), (b, a, "originator")):
            x.peer, x.other, x.other_type = y, y, other_type
            x.bridged_at = now
            x.state = "CS_EXCHANGE_MEDIA" if x.kind in (AGENT, AGENT_ORIG) else x.state
            x.set(signal_bond=y.uuid)
            x.callee_name, x.callee_number = y.cid_name or "Outbound Call", y.dest
        self.emit_channel(event_on or a, "CHANNEL_BRIDGE")
        for x, y in ((a, b), (b, a)):
            x.set(bridge_channel=y.name, bridge_uuid=y.uuid)

    def hangup(self, ch: Channel, cause: str = "NORMAL_CLEARING") -> None:
        """Hang ``ch`` up in the switch's order: HANGUP, (an unserved member leaves the
        queue), HANGUP_COMPLETE, the bridged partner (UNBRIDGE, its hangup), mod_callcenter's
        end-of-call events, the loopback partner, DESTROY."""
        if not ch.is_up:
            return
        ch.hangup_cause = cause
        ch.hangup_at = self.now()
        ch.state, ch.callstate = "CS_HANGUP", "HANGUP"
        peer = ch.peer
        if peer is not None:
            ch.set(last_bridge_to=peer.uuid)
            if ch.kind in (AGENT, AGENT_ORIG):
                ch.set(last_bridge_role="originatee" if ch.kind == AGENT else "originator")
        self.emit_channel(ch, "CHANNEL_HANGUP")
        ch.hungup_event.set()
        if ch.task is not None and ch.task is not asyncio.current_task():
            ch.task.cancel()
        for listener in list(self.hangup_listeners):
            listener(ch)
        member = ch.member
        if isinstance(member, Member) and member.state in ("Waiting", "Trying"):
            self._member_gone(member, "hangup")
        ch.set(hangup_cause=cause, hangup_cause_q850=Q850.get(cause, "16"))
        if "current_application" in ch.vars:
            ch.set(last_app=ch.vars["current_application"])
            if ch.vars.get("current_application_data"):
                ch.set(last_arg=ch.vars["current_application_data"])
        if ch.kind == SOFIA_IN:
            ch.set(sip_hangup_disposition="send_bye" if ch.local_hangup else "recv_bye")
        ch.state = "CS_REPORTING"
        self.emit_channel(ch, "CHANNEL_HANGUP_COMPLETE")
        if peer is not None and peer.peer is ch:
            ch.peer = peer.peer = None
            peer.set(
                last_bridge_to=ch.uuid, last_bridge_hangup_cause=cause, bridge_hangup_cause=cause
            )
            self.emit_channel(peer, "CHANNEL_UNBRIDGE")
            if peer.is_up and not peer.transferring:
                if peer.vars.get("park_after_bridge") == "true":
                    self.park(peer)
                else:
                    peer.local_hangup = True
                    self.hangup(peer, "NORMAL_CLEARING")
        if isinstance(member, Member) and member.state == "Answered":
            self._member_gone(member, "hangup")
        partner = ch.loop_partner
        if partner is not None and partner.is_up:
            self.hangup(partner, cause)
        self.emit_channel(ch, "CHANNEL_DESTROY")
        self.channels.pop(ch.uuid, None)
        if ch.agent is not None:
            self._agent_leg_gone(ch)

    async def wait(self, seconds: float | None, *events: asyncio.Event) -> int | None:
        """Wait ``seconds`` of simulated time or until one of ``events``; its index or None."""
        for index, event in enumerate(events):
            if event.is_set():
                return index
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            timeout = None if seconds is None else self.clock.wall(seconds)
            if waiters:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            elif timeout is not None:
                await asyncio.sleep(timeout)
        finally:
            for waiter in waiters:
                waiter.cancel()
        for index, event in enumerate(events):
            if event.is_set():
                return index
        return None

    # -- the dialplan ---------------------------------------------------------------------

    def start_dialplan(self, ch: Channel, dest: str) -> None:
        ch.task = self.spawn(self._run_dialplan(ch, dest))

    async def _run_dialplan(self, ch: Channel, dest: str) -> None:
        try:
            await self.route(ch, dest)
        except (Hangup, asyncio.CancelledError):
            return

    async def route(self, ch: Channel, dest: str) -> None:
        """Context ``default``: hotlines, agent extensions, queue names, customer numbers."""
        ch.set(DP_MATCH=f"ARRAY::{dest}|:{dest}")
        if dest in self.hotlines:
            await self._hotline(ch, self.hotlines[dest].number, self.hotlines[dest].queue)
        elif dest == "tvshop_overflow":
            await self._overflow(ch, ch.vars.get("tvshop_callback_queue", ""))
        elif f"{dest}@default" in self.agents or dest in self.agents:
            await self._bridge_user(ch, self.agents.get(dest) or self.agents[f"{dest}@default"])
        elif dest in self.queues:
            ch.set(hangup_after_bridge="true")
            self.answer(ch)
            if await self._callcenter(ch, self.queues[dest]) == "timeout":
                await self._overflow(ch, dest, reason="max_wait")
        elif CUSTOMER_NUMBER.match(dest):
            await self._customer(ch)
        else:
            self.hangup(ch, "NO_ROUTE_DESTINATION")

    async def _hotline(self, ch: Channel, dnis: str, queue_name: str) -> None:
        caller = ch.cid_number
        ch.set(tvshop_dnis=dnis)
        if self.hash.get(("tvshop_blacklist", caller)):
            ch.set(tvshop_blacklisted="true", current_application="hangup")
            ch.local_hangup = True
            self.hangup(ch, "CALL_REJECTED")
            return
        if ch.vars.get("tvshop_mode") == "park":
            ch.set(current_application="answer")
            self.answer(ch)
            self.park(ch)
            return
        vip = self.hash.get(("tvshop_vip", caller))
        if vip:
            ch.set(tvshop_vip="true", cc_base_score=vip if vip.isdigit() and int(vip) > 1 else 1000)
        last = self.hash.get(("tvshop_lastagent", caller))
        if last:
            ch.set(tvshop_last_agent=last if "@" in last else f"{last}@default")
        if self.globals.get(f"tvshop_overflow_{queue_name}", "").lower() == "true":
            await self._overflow(ch, queue_name, reason="overflow_switch")
            return
        ch.set(hangup_after_bridge="true", current_application="answer")
        self.answer(ch)
        queue = self.queues[queue_name]
        if await self._callcenter(ch, queue) == "timeout":
            await self._overflow(ch, queue_name, reason="max_wait")

    async def _overflow(self, ch: Channel, queue: str, reason: str = "overflow_switch") -> None:
        ch.set(tvshop_callback_reason=reason, tvshop_callback_queue=queue)
        self.answer(ch)
        ch.set(tvshop_callback="true", export_vars="RFC2822_DATE,tvshop_callback")
        prompt = next(
            (h.prompt for h in self.hotlines.values() if h.number == ch.vars.get("tvshop_dnis")),
            "tvshop/we_will_call_you_back.wav",
        )
        ch.set(current_application="playback", current_application_data=prompt)
        ch.application, ch.application_data = "playback", prompt
        if await self.wait(self.config.callers.prompt_time, ch.hungup_event) is None:
            ch.set(current_application="hangup")
            ch.local_hangup = True
            self.hangup(ch, "NORMAL_CLEARING")

    async def _customer(self, ch: Channel) -> None:
        """A simulated mobile: rings, answers after a delay, talks, hangs up."""
        callers = self.config.callers
        if ch.dest in callers.busy_numbers:
            self.hangup(ch, "USER_BUSY")
            return
        ch.set(current_application="ring_ready")
        self.ring(ch)
        if ch.dest in callers.unanswered_numbers:
            await self.wait(None, ch.hungup_event)
            return
        delay = ch.behaviour.get("answer_delay", callers.customer_answer_delay)
        if await self.wait(delay, ch.hungup_event) is not None:
            return
        ch.set(current_application="answer")
        self.answer(ch)
        talk = ch.behaviour.get("talk_time", callers.customer_talk_time)
        if await self.wait(talk, ch.hungup_event) is None:
            ch.set(current_application="hangup", last_app="hangup")
            self.hangup(ch, "NORMAL_CLEARING")

    async def _bridge_user(self, ch: Channel, agent: Agent) -> None:
        """``bridge user/<ext>`` from the dialplan (a transfer to an agent)."""
        self.answer(ch)
        ch.set(current_application="bridge", current_application_data=f"user/{agent.cfg.extension}")
        leg = self._agent_leg(agent, AGENT_ORIG, ch, {})
        if leg is None:
            self.hangup(ch, "USER_BUSY")
            return
        agent.external_calls += 1
        try:
            cause = await self._ring_agent(leg, agent, agent.cfg.leg_timeout, ch.hungup_event)
            if cause is not None:
                self.hangup(ch, cause)
                return
            ch.set(hangup_after_bridge="true")
            self.bridge(ch, leg)
            await self.wait(None, ch.hungup_event)
        finally:
            agent.external_calls -= 1

    # -- agents' phones -------------------------------------------------------------------

    def _agent_leg(
        self,
        agent: Agent,
        kind: str,
        caller: Channel | None,
        variables: dict[str, str],
        uuid: str | None = None,
    ) -> Channel | None:
        if agent.leg is not None:
            return None
        ext = agent.cfg.extension
        leg = self.new_channel(
            kind,
            uuid=uuid or self.new_uuid(),
            name=f"null/agent-{ext}",
            direction="outbound",
            cid_name=(
                caller.cid_name if caller else variables.get("origination_caller_id_name", "")
            ),
            cid_number=(
                caller.cid_number if caller else variables.get("origination_caller_id_number", "")
            ),
            dest=f"agent-{ext}",
            context="default",
            source="mod_loopback",
            dialplan="",
        )
        leg.agent = agent
        leg.callee_name, leg.callee_number = "Outbound Call", f"agent-{ext}"
        leg.set(**variables)
        leg.set(
            dialed_user=ext,
            dialed_domain=self.config.domain,
            presence_id=f"{ext}@{self.config.domain}",
            originate_endpoint="null",
        )
        agent.leg = leg
        return leg

    def _agent_leg_gone(self, leg: Channel) -> None:
        agent = leg.agent
        if isinstance(agent, Agent) and agent.leg is leg:
            agent.leg = None
            self.spawn(self._dispatch_soon())

    async def _ring_agent(
        self, leg: Channel, agent: Agent, timeout: float, cancel: asyncio.Event
    ) -> str | None:
        """Ring an agent's phone. None when answered, else the failure cause."""
        self.create(leg)
        leg.state = "CS_CONSUME_MEDIA"
        delay = agent.cfg.answer_delay if agent.cfg.answers else None
        if delay is not None and delay < timeout:
            which = await self.wait(delay, leg.hungup_event, cancel)
            if which is None:
                self.answer(leg)
                return None
        else:
            which = await self.wait(timeout, leg.hungup_event, cancel)
        if which == 0:
            return leg.hangup_cause or "NORMAL_CLEARING"
        if which == 1:
            self.hangup(leg, "ORIGINATOR_CANCEL")
            return "ORIGINATOR_CANCEL"
        self.hangup(leg, "NO_ANSWER")
        return "NO_ANSWER"

    # -- mod_callcenter -------------------------------------------------------------------

    async def _callcenter(self, ch: Channel, queue: Queue) -> str:
        """Run the ``callcenter`` application; "answered", "timeout", "transfer" or "hangup"."""
        now = self.now()
        member = Member(
            uuid=self.new_uuid(),
            channel=ch,
            queue=queue,
            base_score=int(ch.vars.get("cc_base_score", "0") or 0),
            joined=now,
            preferred=ch.vars.get("tvshop_last_agent"),
            result=asyncio.get_running_loop().create_future(),
        )
        ch.member = member
        ch.application, ch.application_data = "callcenter", queue.name
        ch.set(
            current_application_data=queue.name,
            current_application="callcenter",
            cc_side="member",
            cc_member_uuid=member.uuid,
            cc_queue_joined_epoch=int(now),
            cc_queue=queue.name,
        )
        self.emit_cc("member-queue-start", self._member_cc(member, "member-queue-start"), ch)
        queue.members.append(member)
        self._members_count(queue)
        self._dispatch()
        patience = ch.behaviour.get("patience")
        max_wait = queue.cfg.max_wait_time or None
        assert member.result is not None
        while not member.result.done():
            limits = [x for x in (patience, max_wait) if x is not None]
            left = min(limits) - (self.now() - member.joined) if limits else None
            if member.bridged.is_set() or left is None:
                await asyncio.shield(member.result)
                break
            done_event = asyncio.Event()
            member.result.add_done_callback(lambda _f, e=done_event: e.set())
            which = await self.wait(max(0.0, left), member.bridged, done_event)
            if which is not None or member.result.done():
                continue
            if member.state not in ("Waiting", "Trying"):
                continue
            elapsed = self.now() - member.joined
            if (
                max_wait is not None
                and elapsed >= max_wait - 1e-6
                and (patience is None or max_wait <= patience)
            ):
                self._member_leave(member, "Cancel", "TIMEOUT")
                member.result.set_result("timeout")
            elif patience is not None and elapsed >= patience - 1e-6:
                self.hangup(ch, "NORMAL_CLEARING")  # the caller hangs up: BREAK_OUT
        ch.member = None
        return member.result.result()

    def _member_cc(self, m: Member, action: str, *extra: Header) -> list[Header]:
        ch = m.channel
        out = [
            ("CC-Queue", m.queue.name),
            ("CC-Action", action),
            *extra,
            ("CC-Member-UUID", m.uuid),
            ("CC-Member-Session-UUID", ch.uuid),
        ]
        if ch.cid_name:
            out.append(("CC-Member-CID-Name", ch.cid_name))
        out.append(("CC-Member-CID-Number", ch.cid_number))
        return out

    def _member_leave(self, m: Member, cause: str, reason: str = "") -> None:
        """member-queue-end for a member that was not served."""
        ch = m.channel
        now = int(self.now())
        if m in m.queue.members:
            m.queue.members.remove(m)
        m.state = "Abandoned"
        m.left.set()
        m.abandoned_epoch = now
        m.queue.calls_abandoned += 1
        ch.set(
            playback_last_offset_pos="0",
            playback_seconds=str(now - int(m.joined)),
            playback_ms=str(int((self.now() - m.joined) * 1000)),
            playback_samples=str(int((self.now() - m.joined) * 8000)),
        )
        self.emit_cc(
            "member-queue-end",
            self._member_cc(
                m,
                "member-queue-end",
                ("CC-Member-Leaving-Time", str(now)),
                ("CC-Member-Joined-Time", str(int(m.joined))),
                ("CC-Cause", cause),
                ("CC-Cancel-Reason", reason),
            ),
            ch,
        )
        ch.set(cc_queue_canceled_epoch=now, cc_cause=cause.lower(), cc_cancel_reason=reason)
        self._members_count(m.queue)

    def _member_gone(self, m: Member, why: str) -> None:
        """The member's channel hung up (or was transferred away)."""
        if m.result is None or m.result.done():
            return
        if m.state in ("Waiting", "Trying"):
            self._member_leave(m, "Cancel", "BREAK_OUT")
            m.result.set_result(why)
        elif m.state == "Answered":
            self._member_served(m)
            m.result.set_result("answered" if why == "hangup" else why)

    def _member_served(self, m: Member) -> None:
        agent = m.agent
        now = int(self.now())
        if m in m.queue.members:
            m.queue.members.remove(m)
        m.state = "Served"
        ch = m.channel
        ch.set(cc_queue_terminated_epoch=now)
        if agent is not None:
            leg_uuid = ch.vars.get("cc_agent_uuid", "")
            self.emit_cc(
                "bridge-agent-end",
                [
                    ("CC-Queue", m.queue.name),
                    ("CC-Action", "bridge-agent-end"),
                    ("CC-Hangup-Cause", "SUCCESS"),
                    ("CC-Agent", agent.name),
                    ("CC-Agent-System", SYSTEM),
                    ("CC-Agent-UUID", leg_uuid),
                    ("CC-Agent-Bridged", "true"),
                    ("CC-Agent-Called-Time", str(agent.last_offered_call)),
                    ("CC-Agent-Answered-Time", str(agent.last_bridge_start)),
                    ("CC-Member-Joined-Time", str(int(m.joined))),
                    ("CC-Bridge-Terminated-Time", str(now)),
                    *self._member_cc(m, "")[2:],
                ],
                m.agent_leg,
            )
        self.emit_cc(
            "member-queue-end",
            self._member_cc(
                m,
                "member-queue-end",
                ("CC-Hangup-Cause", "SUCCESS"),
                ("CC-Cause", "Terminated"),
                ("CC-Agent", agent.name if agent else ""),
                ("CC-Agent-System", SYSTEM),
                ("CC-Agent-UUID", ch.vars.get("cc_agent_uuid", "")),
                ("CC-Agent-Called-Time", str(agent.last_offered_call if agent else 0)),
                ("CC-Agent-Answered-Time", str(agent.last_bridge_start if agent else 0)),
                ("CC-Member-Leaving-Time", str(now)),
                ("CC-Member-Joined-Time", str(int(m.joined))),
            ),
            ch,
        )
        if agent is not None:
            agent.last_bridge_end = now
            agent.talk_time += max(0, now - agent.last_bridge_start)
            self._cc_agent_state(agent, "Waiting")
            self.spawn(self._dispatch_after(agent.cfg.wrap_up_time))

    def _eligible(self, agent: Agent, now: float) -> bool:
        return (
            agent.status in ("Available", "Available (On Demand)")
            and agent.state == "Waiting"
            and not agent.busy
            and now >= agent.last_bridge_end + agent.cfg.wrap_up_time
        )

    def _pick_agent(self, queue: Queue, member: Member, now: float) -> Agent | None:
        tiers = [
            (t, self.agents[t.agent])
            for t in queue.cfg.agents
            if t.agent in self.agents and t.state == "Ready"
        ]
        ready = [(t, a) for t, a in tiers if self._eligible(a, now)]
        if not ready:
            return None
        if member.preferred and member.preferred not in member.tried:
            for _, agent in ready:
                if agent.name == member.preferred:
                    return agent
        fresh = [(t, a) for t, a in ready if a.name not in member.tried] or ready
        strategy = queue.cfg.strategy
        if strategy == "round-robin":
            last = queue.rr_last_position
            fresh.sort(key=lambda ta: (ta[0].level, ta[0].position <= last, ta[0].position))
        elif strategy == "longest-idle-agent":
            fresh.sort(
                key=lambda ta: (
                    ta[0].level,
                    ta[1].last_bridge_end,
                    ta[1].last_offered_call,
                    ta[0].position,
                )
            )
        elif strategy == "agent-with-least-talk-time":
            fresh.sort(key=lambda ta: (ta[0].level, ta[1].talk_time, ta[0].position))
        elif strategy == "agent-with-fewest-calls":
            fresh.sort(key=lambda ta: (ta[0].level, ta[1].calls_answered, ta[0].position))
        elif strategy == "random":
            self.rng.shuffle(fresh)
            fresh.sort(key=lambda ta: ta[0].level)
        else:  # top-down, sequentially-by-agent-order
            fresh.sort(key=lambda ta: (ta[0].level, ta[0].position))
        tier, agent = fresh[0]
        queue.rr_last_position = tier.position
        return agent

    def _dispatch(self) -> None:
        """Offer waiting members to free agents (mod_callcenter's queue loop)."""
        if self._closed:
            return
        now = self.now()
        for queue in self.queues.values():
            waiting = [m for m in queue.members if m.state == "Waiting"]
            waiting.sort(key=lambda m: (-m.score(now), m.joined))
            for member in waiting:
                agent = self._pick_agent(queue, member, now)
                if agent is None:
                    continue
                member.state = "Trying"
                leg = self._offer(member, agent)
                self.spawn(self._offer_ring(member, agent, leg))

    async def _dispatch_soon(self) -> None:
        await asyncio.sleep(0)
        self._dispatch()

    async def _dispatch_after(self, seconds: float) -> None:
        await self.clock.sleep(seconds + 0.01)
        self._dispatch()

    def _offer(self, m: Member, agent: Agent) -> Channel:
        """Offer ``m`` to ``agent`` (synchronous part: the agent is reserved at once)."""
        ch = m.channel
        now = int(self.now())
        agent.last_offered_call = now
        agent.offered += 1
        m.agent = agent
        m.tried.add(agent.name)
        self._cc_agent_state(agent, "Receiving")
        self.emit_cc(
            "agent-offering",
            [
                ("CC-Queue", m.queue.name),
                ("CC-Action", "agent-offering"),
                ("CC-Agent", agent.name),
                ("CC-Agent-Type", "callback"),
                ("CC-Agent-System", SYSTEM),
                ("CC-Member-UUID", m.uuid),
                ("CC-Member-Session-UUID", ch.uuid),
                *([("CC-Member-CID-Name", ch.cid_name)] if ch.cid_name else []),
                ("CC-Member-CID-Number", ch.cid_number),
                ("CC-Member-DNIS", ch.vars.get("tvshop_dnis", ch.dest)),
            ],
        )
        leg = self._agent_leg(
            agent,
            AGENT,
            ch,
            {
                "cc_queue": m.queue.name,
                "cc_queue_joined_epoch": str(int(m.joined)),
                "cc_member_uuid": m.uuid,
                "cc_member_session_uuid": ch.uuid,
                "cc_member_pre_answer_uuid": m.uuid,
                "cc_agent": agent.name,
                "cc_agent_type": "callback",
                "cc_side": "agent",
                "origination_caller_id_name": ch.cid_name,
                "origination_caller_id_number": ch.cid_number,
                "leg_timeout": str(agent.cfg.leg_timeout),
                "originate_early_media": "false",
            },
        )
        assert leg is not None
        leg.other, leg.other_type = ch, "originator"
        m.agent_leg = leg
        return leg

    async def _offer_ring(self, m: Member, agent: Agent, leg: Channel) -> None:
        ch = m.channel
        cause = await self._ring_agent(leg, agent, agent.cfg.leg_timeout, m.left)
        if cause is not None or not ch.is_up or m.state != "Trying":
            if leg.is_up:
                self.hangup(leg, "ORIGINATOR_CANCEL")
            m.agent = None
            if cause == "NO_ANSWER":
                self._rona(m, agent, cause)
            elif agent.state != "Waiting":
                self._cc_agent_state(agent, "Waiting")
            if m.state == "Trying":
                m.state = "Waiting"
            self._dispatch()
            return
        # answered: bridge member and agent
        now = int(self.now())
        agent.no_answer_count = 0
        agent.last_bridge_start = now
        agent.calls_answered += 1
        m.queue.calls_answered += 1
        m.state, m.bridge_epoch = "Answered", now
        if m.queue.cfg.record_template:
            ch.set(cc_record_filename=m.queue.cfg.record_template.replace("${uuid}", ch.uuid))
        self.emit_cc(
            "bridge-agent-start",
            [
                ("CC-Queue", m.queue.name),
                ("CC-Action", "bridge-agent-start"),
                ("CC-Agent", agent.name),
                ("CC-Agent-System", SYSTEM),
                ("CC-Agent-UUID", leg.uuid),
                ("CC-Agent-Called-Time", str(agent.last_offered_call)),
                ("CC-Agent-Answered-Time", str(now)),
                ("CC-Member-Joined-Time", str(int(m.joined))),
                *self._member_cc(m, "")[2:],
                ("CC-Member-DNIS", ch.vars.get("tvshop_dnis", ch.dest)),
            ],
            leg,
        )
        leg.set(cc_agent_bridged="true")
        transfer = f"{now}:{self.new_uuid()}:uuid_br:{leg.uuid}"
        leg_transfer = f"{now}:{self.new_uuid()}:uuid_br:{ch.uuid}"
        leg.set(
            original_destination_number=leg.dest,
            original_caller_id_name=ch.cid_name,
            original_caller_id_number=ch.cid_number,
            transfer_history=leg_transfer,
            transfer_source=leg_transfer,
        )
        history = ch.vars.get("transfer_history")
        ch.set(
            transfer_history=f"{history}|:{transfer}" if history else transfer,
            transfer_source=transfer,
            cc_agent_uuid=leg.uuid,
            original_destination_number=ch.dest,
            original_caller_id_name=ch.cid_name,
            original_caller_id_number=ch.cid_number,
            playback_last_offset_pos="0",
            playback_seconds=str(now - int(m.joined)),
            playback_ms=str(int((self.now() - m.joined) * 1000)),
            playback_samples=str(int((self.now() - m.joined) * 8000)),
            cc_cause="answered",
        )
        if history:
            ch.set(transfer_history=f"ARRAY::{history.removeprefix('ARRAY::')}|:{transfer}")
        ch.state = "CS_SOFT_EXECUTE"
        ch.application, ch.application_data = "uuid_bridge", leg.uuid
        leg.application, leg.application_data = "uuid_bridge", ch.uuid
        ch.set(bridge_channel=leg.name, bridge_uuid=leg.uuid)  # mod_callcenter sets these first
        self.bridge(ch, leg)
        ch.set(cc_agent_bridged="true", cc_agent=agent.name, cc_queue_answered_epoch=now)
        ch.set(last_sent_callee_id_name="Outbound Call", last_sent_callee_id_number=leg.dest)
        leg.set(last_sent_callee_id_name=ch.cid_name, last_sent_callee_id_number=ch.cid_number)
        self._cc_agent_state(agent, "In a queue call")
        self._members_count(m.queue)
        m.bridged.set()
        if agent.cfg.hold_probability and self.rng.random() < agent.cfg.hold_probability:
            self.spawn(self._agent_holds(leg, agent))
        talk = ch.behaviour.get("talk_time", self.config.callers.talk_time)
        if await self.wait(talk, leg.hungup_event, ch.hungup_event) is None:
            leg.local_hangup = True
            self.hangup(leg, "NORMAL_CLEARING")  # the agent ends the call, as in the capture

    def _rona(self, m: Member, agent: Agent, cause: str) -> None:
        """Ring-no-answer: bridge-agent-fail, count it, maybe put the agent On Break."""
        self.emit_cc(
            "bridge-agent-fail",
            [
                ("CC-Queue", m.queue.name),
                ("CC-Action", "bridge-agent-fail"),
                ("CC-Hangup-Cause", cause),
                ("CC-Agent", agent.name),
                ("CC-Agent-System", SYSTEM),
                *self._member_cc(m, "")[2:],
            ],
        )
        agent.no_answer_count += 1
        self._cc_agent_state(agent, "Waiting")
        if agent.cfg.max_no_answer and agent.no_answer_count >= agent.cfg.max_no_answer:
            self._cc_agent_status(agent, m.queue.cfg.agent_no_answer_status)

    # -- placing calls ----------------------------------------------------------------------

    def place_inbound(
        self,
        dnis: str,
        caller: str,
        *,
        uuid: str | None = None,
        cid_name: str = "",
        patience: float | None = None,
        talk_time: float | None = None,
        fail: str = "",
    ) -> Channel:
        """A call from the PSTN to ``dnis`` (the capture's ``sofia/external`` leg, arriving
        in context ``public``, which transfers it to ``default``). ``fail``: a hangup cause
        the call fails with before the dialplan serves it (a trunk or media failure)."""
        ch = self.new_channel(
            SOFIA_IN,
            uuid=uuid or self.new_uuid(),
            name=f"sofia/external/{caller}@127.0.0.1",
            direction="inbound",
            cid_name=cid_name,
            cid_number=caller,
            dest=dnis,
            context="public",
            username=caller,
            network_addr="127.0.0.1",
        )
        ch.behaviour["patience"] = self.config.callers.patience if patience is None else patience
        if talk_time is not None:
            ch.behaviour["talk_time"] = talk_time
        self.create(ch)
        # context public → transfer to default (as the captured setup does)
        now = self.now()
        transfer = f"{int(now)}:{self.new_uuid()}:bl_xfer:{dnis}/default/XML"
        ch.context, ch.rdnis, ch.profile_index = "default", dnis, 2
        ch.transfer_at = 0.0
        ch.set(
            outside_call="true",
            RFC2822_DATE=dt.datetime.fromtimestamp(now, dt.UTC).strftime(
                "%a, %d %b %Y %H:%M:%S +0000"
            ),
            export_vars="RFC2822_DATE",
            max_forwards="69",
            transfer_history=transfer,
            transfer_source=transfer,
        )
        if fail:
            ch.local_hangup = False
            self.spawn(self._fail_soon(ch, fail))
            return ch
        self.start_dialplan(ch, dnis)
        return ch

    async def _fail_soon(self, ch: Channel, cause: str) -> None:
        await asyncio.sleep(0)
        if ch.is_up:
            self.hangup(ch, cause)

    async def originate(self, args: str) -> str:
        """``originate <dial string> <&app(args) | exten [dialplan] [context]> …``."""
        try:
            parts = shlex.split(args, posix=False)
        except ValueError:
            parts = args.split()
        if len(parts) < 2:
            return (
                "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] "
                "[<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
            )
        dial, target = parts[0], parts[1]
        variables, endpoint = split_vars(dial)
        try:
            leg = self._originate_leg(endpoint, variables, None)
        except _OriginateError as exc:
            return f"-ERR {exc}\n"
        timeout = float(variables.get("originate_timeout", self.config.callers.originate_timeout))
        cause = await self._await_answer(leg, timeout)
        if cause is not None:
            return f"-ERR {cause}\n"
        if target.startswith("&"):
            app, _, app_args = target[1:].partition("(")
            app_args = app_args.removesuffix(")")
            leg.task = self.spawn(self._run_app(leg, app, app_args))
        else:
            self.start_dialplan(leg, target)
        return f"+OK {leg.uuid}\n"

    def _originate_leg(
        self, endpoint: str, variables: dict[str, str], originator: Channel | None
    ) -> Channel:
        uuid = variables.get("origination_uuid") or self.new_uuid()
        if uuid in self.channels:
            raise _OriginateError("INVALID_NUMBER_FORMAT")
        cid_num = variables.get("origination_caller_id_number", "0000000000")
        cid_name = variables.get("origination_caller_id_name", "")
        kind_vars = dict(variables)
        if endpoint.startswith("user/"):
            ext = endpoint[5:].split("@", 1)[0]
            agent = self.agents.get(f"{ext}@default") or self.agents.get(ext)
            if agent is None:
                raise _OriginateError("SUBSCRIBER_ABSENT")
            if agent.leg is not None:
                raise _OriginateError("USER_BUSY")
            leg = self._agent_leg(agent, AGENT_ORIG, None, kind_vars, uuid=uuid)
            assert leg is not None
            leg.cid_name, leg.cid_number = cid_name, cid_num
            leg.set(originate_early_media="true")
            agent.external_calls += 1
            self.spawn(self._ring_originated_agent(leg, agent))
            return leg
        dest = endpoint
        context = "default"
        if endpoint.startswith("loopback/"):
            bits = endpoint.split("/")
            dest = bits[1]
            context = bits[2] if len(bits) > 2 else "default"
        elif "/" in endpoint:
            dest = endpoint.rsplit("/", 1)[1].split("@", 1)[0]
        if not dest or not re.match(r"^[\w+*#-]+$", dest):
            raise _OriginateError("CHAN_NOT_IMPLEMENTED")
        return self._loopback(dest, context, uuid, cid_name, cid_num, kind_vars, originator)

    def _loopback(
        self,
        dest: str,
        context: str,
        uuid: str,
        cid_name: str,
        cid_num: str,
        variables: dict[str, str],
        originator: Channel | None,
    ) -> Channel:
        customer = dest not in self.hotlines
        kind_a, kind_b = (CUST_A, CUST_B) if customer else (LOOP_A, LOOP_B)
        a = self.new_channel(
            kind_a,
            uuid=uuid,
            name=f"loopback/{dest}-a",
            direction="outbound",
            cid_name="" if customer else "Outbound Call",
            cid_number=cid_num if customer else context,
            dest=dest,
            context=context,
            source="mod_loopback",
            dialplan="xml",
        )
        a.callee_name, a.callee_number = "Outbound Call", context
        a.set(**variables)
        b = self.new_channel(
            kind_b,
            name=f"loopback/{dest}-b",
            direction="inbound",
            cid_name=cid_name,
            cid_number=cid_num,
            dest=dest,
            context=context,
            source="mod_loopback",
            dialplan="xml",
        )
        b.callee_name, b.callee_number = "Outbound Call", context
        b.set(**{k: v for k, v in variables.items() if k.startswith(("origination_", "tvshop_"))})
        a.loop_partner, b.loop_partner = b, a
        a.set(
            originate_early_media="true",
            originate_endpoint="loopback",
            other_loopback_leg_uuid=b.uuid,
            loopback_leg="A",
        )
        b.set(other_loopback_leg_uuid=a.uuid, loopback_leg="B")
        if originator is not None:
            if originator.agent is not None:
                a.cid_name = f"Extension {originator.vars.get('dialed_user', '')}"
            else:
                a.cid_name = originator.cid_name
            a.orig_cid_name = originator.cid_name
            a.set(originator_codec="L16@8000h@20i")
            a.set(
                loopback_from_uuid=originator.uuid,
                originator=originator.uuid,
                originating_leg_uuid=originator.uuid,
                signal_bond=originator.uuid,
                call_uuid=originator.uuid,
            )
            b.set(other_loopback_from_uuid=originator.uuid)
            a.other, a.other_type = originator, "originator"
        if "sim_patience" in variables:
            b.behaviour["patience"] = float(variables["sim_patience"])
        if "sim_talk" in variables:
            b.behaviour["talk_time"] = float(variables["sim_talk"])
        self.create(a)
        self.create(b)
        self.start_dialplan(b, dest)
        return a

    async def _ring_originated_agent(self, leg: Channel, agent: Agent) -> None:
        try:
            delay = agent.cfg.answer_delay if agent.cfg.answers else None
            self.create(leg)
            if delay is not None and await self.wait(delay, leg.hungup_event) is None:
                self.answer(leg)
            await self.wait(None, leg.hungup_event)
        finally:
            agent.external_calls -= 1

    async def _await_answer(self, leg: Channel, timeout: float) -> str | None:
        which = await self.wait(timeout, leg.answered_event, leg.hungup_event)
        if which == 0 and leg.is_up:
            return None
        if which is None:
            self.hangup(leg, "NO_ANSWER")
            return "NO_ANSWER"
        return leg.hangup_cause or "NORMAL_CLEARING"

    async def _run_app(self, leg: Channel, app: str, args: str) -> None:
        try:
            leg.set(current_application=app)
            if args:
                leg.set(current_application_data=args)
            if app == "park":
                self.park(leg)
            elif app == "bridge":
                await self._app_bridge(leg, args)
            elif app == "transfer":
                await self.route(leg, args.split()[0])
            elif app in ("callcenter",):
                await self._callcenter(leg, self.queues[args])
            elif app == "eavesdrop":
                await self._eavesdrop(leg, args.strip())
            else:
                self.hangup(leg, "NORMAL_CLEARING")
        except (Hangup, asyncio.CancelledError):
            return

    async def _eavesdrop(self, leg: Channel, target_uuid: str) -> None:
        """``eavesdrop(<uuid>)``: the supervisor's leg stays up while the target call
        exists and hangs up when it ends (or at once when there is no such call). The
        leg keeps its ``eavesdrop_*`` variables (whisper: ``eavesdrop_whisper_bleg``,
        barge: ``eavesdrop_bridge_aleg``/``_bleg``) and ``eavesdrop_target``, so
        ``uuid_getvar`` and ``show channels`` tell what it does."""
        target = self.channels.get(target_uuid)
        if target is None or not target.is_up:
            leg.set(eavesdrop_result="no_target")
            leg.local_hangup = True
            self.hangup(leg, "NORMAL_CLEARING")
            return
        whisper = leg.vars.get("eavesdrop_whisper_bleg") == "true"
        barge = leg.vars.get("eavesdrop_bridge_aleg") == "true"
        mode = "barge" if barge else "whisper" if whisper else "listen"
        leg.set(eavesdrop_target=target_uuid, eavesdrop_mode=mode, eavesdrop_result="active")
        self.eavesdrops[leg.uuid] = target_uuid
        try:
            which = await self.wait(None, target.hungup_event, leg.hungup_event)
            if which == 0 and leg.is_up:  # the target call ended: so does listening
                leg.set(eavesdrop_result="target_ended")
                leg.local_hangup = True
                self.hangup(leg, "NORMAL_CLEARING")
        finally:
            self.eavesdrops.pop(leg.uuid, None)

    async def _app_bridge(self, leg: Channel, args: str) -> None:
        variables, endpoint = split_vars(args)
        try:
            other = self._originate_leg(endpoint, variables, leg)
        except _OriginateError as exc:
            leg.set(originate_disposition=str(exc))
            self.hangup(leg, str(exc))
            return
        leg.callstate = "RING_WAIT"
        timeout = float(variables.get("leg_timeout", self.config.callers.originate_timeout))
        cause = await self._await_answer(other, timeout)
        if cause is not None:
            leg.set(originate_disposition=cause)
            if leg.is_up:
                self.hangup(leg, cause)
            return
        leg.set(
            originated_legs=f"ARRAY::{other.uuid};{other.name};{other.cid_number}",
            originate_disposition="SUCCESS",
            originate_causes=f"ARRAY::{other.uuid};NONE",
        )
        self.bridge(leg, other)
        leg.set(last_sent_callee_id_name=other.cid_name, last_sent_callee_id_number=other.dest)
        other.set(last_sent_callee_id_name=leg.cid_name, last_sent_callee_id_number=leg.dest)
        await self.wait(None, leg.hungup_event)

    # -- uuid_* ---------------------------------------------------------------------------

    def kill(self, uuid: str, cause: str = "NORMAL_CLEARING") -> bool:
        ch = self.channels.get(uuid)
        if ch is None:
            return False
        ch.local_hangup = True
        self.hangup(ch, cause)
        return True

    def transfer(self, uuid: str, dest: str, *, bleg: bool = False) -> bool:
        ch = self.channels.get(uuid)
        if ch is None:
            return False
        if bleg:
            if ch.peer is None:
                return False
            ch = ch.peer
        ch.transferring = True
        peer = ch.peer
        if ch.member is not None:
            self._member_gone(ch.member, "transfer")
        if ch.task is not None and ch.task is not asyncio.current_task():
            ch.task.cancel()
        ch.member = None
        if peer is not None:
            ch.peer = peer.peer = None
            self.emit_channel(ch, "CHANNEL_UNBRIDGE")
            peer.local_hangup = True
            self.hangup(peer, "NORMAL_CLEARING")
        ch.transferring = False
        ch.transfer_at = self.now()
        ch.rdnis, ch.dest = ch.dest, dest
        ch.profile_index += 1
        ch.set(transfer_source=f"{int(self.now())}:{self.new_uuid()}:uuid_transfer:{dest}")
        self.start_dialplan(ch, dest)
        return True

    def uuid_bridge(self, a_uuid: str, b_uuid: str) -> str:
        a, b = self.channels.get(a_uuid), self.channels.get(b_uuid)
        if a is None or b is None:
            return "-ERR Invalid uuid\n"
        for ch in (a, b):
            if ch.task is not None and ch.task is not asyncio.current_task():
                ch.task.cancel()
            if not ch.answered:
                self.answer(ch)
        self.bridge(a, b)
        return f"+OK {b.uuid}\n"

    # -- api --------------------------------------------------------------------------------

    async def api(self, command: str) -> str:
        word, _, rest = command.strip().partition(" ")
        rest = rest.strip()
        handler = _API.get(word)
        if handler is None:
            return f"-ERR {word} Command not found!\n"
        return await handler(self, rest)

    async def _api_status(self, _args: str) -> str:
        up = self.now() - self.started
        ms = int(up * 1000)
        seconds, ms = divmod(ms, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        live = len(self.channels)
        return (
            f"UP 0 years, {days} days, {hours} hours, {minutes} minutes, {seconds} seconds, "
            f"{ms} milliseconds, 0 microseconds\n"
            "FreeSWITCH (Version 1.11.1-release git c2c5964 2026-05-26 20:41:26Z 64bit) is ready\n"
            f"{self.sessions_since_startup} session(s) since startup\n"
            f"{live} session(s) - peak {self.peak_sessions}, last 5min {self.peak_sessions} \n"
            "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
            "1000 session(s) max\n"
            "min idle cpu 0.00/99.00\n"
            "Current Stack Size/Max 240K/8192K\n"
        )

    async def _api_version(self, _args: str) -> str:
        return f"FreeSWITCH Version {VERSION} (git c2c5964 2026-05-26 20:41:26Z 64bit)\n"

    async def _api_show(self, args: str) -> str:
        words = args.split()
        if not words or words[0] not in ("channels", "calls"):
            return "-USAGE: show channels|calls [as json]\n"
        rows: list[dict[str, str]]
        if words[0] == "channels":
            rows = [ch.show_row(self.hostname) for ch in self.channels.values()]
        else:
            rows = self._calls()
        if "json" not in words:
            if not rows:
                return "\n0 total.\n\n"
            keys = list(rows[0])
            lines = [",".join(keys)] + [",".join(r[k] for k in keys) for r in rows]
            return "\n".join(lines) + f"\n\n{len(rows)} total.\n\n"
        if not rows:
            return '{"row_count": 0}\n'
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":")) + "\n"

    def _calls(self) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        seen: set[str] = set()
        for ch in self.channels.values():
            if ch.uuid in seen:
                continue
            seen.add(ch.uuid)
            a = ch.show_row(self.hostname)
            row = {k: a.get(k, "") for k in SHOW_CALLS_KEYS}
            b = ch.peer
            if b is not None and b.uuid not in seen and ch.direction == "inbound":
                seen.add(b.uuid)
                brow = b.show_row(self.hostname)
                for key in SHOW_CALLS_KEYS:
                    if key in ("hostname", "call_uuid"):
                        continue
                    row[f"b_{key}"] = brow.get(key, "")
                row["call_created_epoch"] = str(int(ch.bridged_at))
            else:
                for key in SHOW_CALLS_KEYS:
                    if key not in ("hostname", "call_uuid"):
                        row[f"b_{key}"] = ""
                row["call_created_epoch"] = ""
            rows.append(row)
        return rows

    async def _api_originate(self, args: str) -> str:
        return await self.originate(args)

    async def _api_uuid_kill(self, args: str) -> str:
        parts = args.split()
        if not parts:
            return "-USAGE: <uuid> [cause]\n"
        cause = parts[1] if len(parts) > 1 else "NORMAL_CLEARING"
        return "+OK\n" if self.kill(parts[0], cause) else "-ERR No such channel!\n"

    async def _api_uuid_hold(self, args: str) -> str:
        """``uuid_hold [off|toggle] <uuid> [<display>]`` (mod_commands)."""
        parts = args.split()
        mode = "on"
        if parts and parts[0] in ("off", "toggle"):
            mode = parts.pop(0)
        if not parts:
            return "-USAGE: [off|toggle] <uuid> [<display>]\n"
        ch = self.channels.get(parts[0])
        if ch is None or not ch.is_up:
            return "-ERR No such channel!\n"
        on = (not ch.held) if mode == "toggle" else mode == "on"
        if ch.held != on and not self.hold(ch, on):
            return "-ERR Operation failed\n"
        return "+OK Success\n"

    async def _api_uuid_transfer(self, args: str) -> str:
        parts = args.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        bleg = parts[1] in ("-bleg", "-both")
        dest = parts[2] if parts[1].startswith("-") and len(parts) > 2 else parts[1]
        if self.transfer(parts[0], dest, bleg=bleg):
            return "+OK\n"
        return "-ERR No such channel!\n"

    async def _api_uuid_bridge(self, args: str) -> str:
        parts = args.split()
        if len(parts) != 2:
            return "-USAGE: <uuid> <other_uuid>\n"
        return self.uuid_bridge(parts[0], parts[1])

    async def _api_uuid_getvar(self, args: str) -> str:
        parts = args.split()
        ch = self.channels.get(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        return ch.vars.get(parts[1], "_undef_") if len(parts) > 1 else "_undef_"

    async def _api_uuid_setvar(self, args: str) -> str:
        parts = args.split(None, 2)
        ch = self.channels.get(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        if len(parts) > 2:
            ch.set(**{parts[1]: parts[2]})
        elif len(parts) == 2:
            ch.vars.pop(parts[1], None)
        return "+OK\n"

    async def _api_hash(self, args: str) -> str:
        bits = args.split("/", 3)
        if len(bits) < 3 or bits[0] not in ("insert", "select", "delete", "delete_ifmatch"):
            return "-ERR Usage: hash [insert|delete|select]/<realm>/<key>/<val>\n"
        op, realm, key = bits[0], bits[1], bits[2]
        if op == "insert":
            self.hash[(realm, key)] = bits[3] if len(bits) > 3 else ""
            return "+OK\n"
        if op == "select":
            return self.hash.get((realm, key), "")
        if self.hash.pop((realm, key), None) is None:
            return "-ERR Not found\n"
        self._dispatch()
        return "+OK\n"

    async def _api_global_setvar(self, args: str) -> str:
        name, sep, value = args.partition("=")
        if not sep:
            name, _, value = args.partition(" ")
        self.globals[name.strip()] = value.strip()
        return "+OK"

    async def _api_global_getvar(self, args: str) -> str:
        if not args:
            return "".join(f"{k}={v}\n" for k, v in self.globals.items())
        return self.globals.get(args.strip(), "")

    async def _api_callcenter_config(self, args: str) -> str:
        try:
            words = shlex.split(args)
        except ValueError:
            words = args.split()
        if len(words) < 2:
            return "-ERR Usage: callcenter_config <object> <action> …\n"
        obj, action, rest = words[0], words[1], words[2:]
        if obj == "agent":
            return self._cc_agent_api(action, rest)
        if obj == "queue":
            return self._cc_queue_api(action, rest)
        if obj == "tier" and action == "add":
            return self._cc_tier_add(rest)
        if obj == "tier" and action == "list":
            lines = [TIER_LIST_COLUMNS]
            for queue in self.queues.values():
                for tier in queue.cfg.agents:
                    lines.append(
                        f"{queue.name}|{tier.agent}|{tier.state}|{tier.level}|{tier.position}"
                    )
            return "\n".join(lines) + "\n+OK\n"
        return "-ERR Unknown Command!\n"

    def _cc_tier_add(self, rest: list[str]) -> str:
        """``callcenter_config tier add <queue> <agent> [level] [position]``."""
        if len(rest) < 2:
            return "-ERR Usage: callcenter_config tier add <queue> <agent> [level] [position]\n"
        queue = self.queues.get(rest[0])
        if queue is None:
            return "-ERR Invalid Queue!\n"
        name = rest[1] if "@" in rest[1] else f"{rest[1]}@default"
        if name not in self.agents:
            return "-ERR Invalid Agent!\n"
        if any(tier.agent == name for tier in queue.cfg.agents):
            return "-ERR Tier already exists!\n"
        level = int(rest[2]) if len(rest) > 2 and rest[2].isdigit() else 1
        position = int(rest[3]) if len(rest) > 3 and rest[3].isdigit() else 1
        queue.cfg.agents.append(TierConfig(agent=name, level=level, position=position))
        self._dispatch()
        return "+OK\n"

    def _cc_agent_api(self, action: str, rest: list[str], only: set[str] | None = None) -> str:
        if action == "add" and rest:
            # a dynamic agent (``callcenter_config agent add <name> callback``): Logged Out
            name = rest[0] if "@" in rest[0] else f"{rest[0]}@default"
            if name in self.agents:
                return "-ERR Agent already exists!\n"
            cfg = AgentConfig(name=name, status="Logged Out")
            self.agents[name] = Agent(
                cfg=cfg, status=cfg.status, last_status_change=int(self.now())
            )
            return "+OK\n"
        if action == "list":
            lines = [AGENT_LIST_COLUMNS]
            for a in self.agents.values():
                if only is not None and a.name not in only:
                    continue
                c = a.cfg
                leg_uuid = a.leg.uuid if a.leg is not None and a.state == "In a queue call" else ""
                lines.append(
                    "|".join(
                        str(x)
                        for x in (
                            a.name,
                            SYSTEM,
                            leg_uuid,
                            "callback",
                            c.contact,
                            a.status,
                            a.state,
                            c.max_no_answer,
                            c.wrap_up_time,
                            c.reject_delay_time,
                            c.busy_delay_time,
                            c.no_answer_delay_time,
                            a.last_bridge_start,
                            a.last_bridge_end,
                            a.last_offered_call,
                            a.last_status_change,
                            a.no_answer_count,
                            a.calls_answered,
                            a.talk_time,
                            a.ready_time,
                            a.external_calls,
                        )
                    )
                )
            return "\n".join(lines) + "\n+OK\n"
        if action in ("set", "get") and len(rest) >= 2:
            key, name = rest[0], rest[1]
            agent = self.agents.get(name) or self.agents.get(f"{name}@default")
            if agent is None:
                return "-ERR Invalid Agent!\n"
            if action == "get":
                if key == "status":
                    return agent.status
                if key == "state":
                    return agent.state
                return "-ERR Unknown Command!\n"
            value = " ".join(rest[2:])
            if key == "contact":
                return "+OK\n"  # the simulated phone is always user/<extension>
            if key == "status":
                if value not in AGENT_STATUSES:
                    return "-ERR Invalid Status!\n"
                self._cc_agent_status(agent, value)
                if value.startswith("Available"):
                    agent.no_answer_count = 0
                self._dispatch()
                return "+OK\n"
            if key == "state":
                if value not in AGENT_STATES:
                    return "-ERR Invalid State!\n"
                self._cc_agent_state(agent, value)
                self._dispatch()
                return "+OK\n"
            return "-ERR Unknown Command!\n"
        return "-ERR Unknown Command!\n"

    def _cc_queue_api(self, action: str, rest: list[str]) -> str:
        if action == "list" and not rest:
            lines = [QUEUE_LIST_COLUMNS]
            for q in self.queues.values():
                c = q.cfg
                lines.append(
                    "|".join(
                        str(x)
                        for x in (
                            c.name,
                            c.strategy,
                            c.moh_sound,
                            c.time_base_score,
                            "false",
                            "300",
                            "true",
                            "false",
                            c.discard_abandoned_after,
                            str(c.abandoned_resume_allowed).lower(),
                            c.max_wait_time,
                            c.max_wait_time_with_no_agent,
                            c.max_wait_time_with_no_agent_time_reached,
                            "",
                            q.calls_answered,
                            q.calls_abandoned,
                            "0",
                            "true",
                            c.agent_no_answer_status,
                        )
                    )
                )
            return "\n".join(lines) + "\n+OK\n"
        if action in ("list", "count") and rest and rest[0] in ("members", "agents", "tiers"):
            queue = self.queues.get(rest[1]) if len(rest) > 1 else None
            if queue is None:
                return "-ERR Invalid Queue not found!\n"
            if action == "count":
                return str(len(queue.members)) + "\n"
            if rest[0] == "members":
                now = self.now()
                lines = [MEMBER_LIST_COLUMNS]
                for m in queue.members:
                    serving = m.agent.name if m.agent and m.state == "Answered" else ""
                    lines.append(
                        "|".join(
                            str(x)
                            for x in (
                                queue.name,
                                SYSTEM,
                                m.uuid,
                                m.channel.uuid,
                                m.channel.cid_number,
                                m.channel.cid_name,
                                int(m.joined),
                                int(m.joined),
                                0,
                                m.bridge_epoch,
                                m.abandoned_epoch,
                                m.base_score,
                                0,
                                serving,
                                SYSTEM if serving else "",
                                m.state,
                                m.score(now),
                            )
                        )
                    )
                return "\n".join(lines) + "\n+OK\n"
            if rest[0] == "agents":
                wanted = {tier.agent for tier in queue.cfg.agents}
                return self._cc_agent_api("list", [], only=wanted)
            lines = [TIER_LIST_COLUMNS]
            for tier in queue.cfg.agents:
                lines.append(f"{queue.name}|{tier.agent}|{tier.state}|{tier.level}|{tier.position}")
            return "\n".join(lines) + "\n+OK\n"
        return "-ERR Unknown Command!\n"

    async def _api_sim_inbound(self, args: str) -> str:
        """Simulator only: ``sim_inbound <dnis> <caller> [uuid=…] [patience=…] [talk=…]
        [name=…] [fail=<cause>]`` — a PSTN call arrives (what a real switch gets from its
        SIP trunk)."""
        parts = args.split()
        if len(parts) < 2:
            return "-USAGE: sim_inbound <dnis> <caller> [uuid=] [patience=] [talk=] [name=]\n"
        opts = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        if opts.get("uuid") in self.channels:
            return "-ERR duplicate uuid\n"
        ch = self.place_inbound(
            parts[0],
            parts[1],
            uuid=opts.get("uuid"),
            cid_name=opts.get("name", ""),
            patience=float(opts["patience"]) if "patience" in opts else None,
            talk_time=float(opts["talk"]) if "talk" in opts else None,
            fail=opts.get("fail", ""),
        )
        return f"+OK {ch.uuid}\n"

    async def _api_sim_status(self, _args: str) -> str:
        return (
            json.dumps(
                {
                    "speed": self.clock.speed,
                    "now": self.now(),
                    "channels": len(self.channels),
                    "hotlines": {h.number: h.queue for h in self.hotlines.values()},
                    "agents": {a.name: [a.status, a.state] for a in self.agents.values()},
                }
            )
            + "\n"
        )


class _OriginateError(Exception):
    pass


_API = {
    "status": Switch._api_status,
    "version": Switch._api_version,
    "show": Switch._api_show,
    "originate": Switch._api_originate,
    "uuid_kill": Switch._api_uuid_kill,
    "uuid_transfer": Switch._api_uuid_transfer,
    "uuid_hold": Switch._api_uuid_hold,
    "uuid_bridge": Switch._api_uuid_bridge,
    "uuid_getvar": Switch._api_uuid_getvar,
    "uuid_setvar": Switch._api_uuid_setvar,
    "hash": Switch._api_hash,
    "global_setvar": Switch._api_global_setvar,
    "global_getvar": Switch._api_global_getvar,
    "callcenter_config": Switch._api_callcenter_config,
    "sim_inbound": Switch._api_sim_inbound,
    "sim_status": Switch._api_sim_status,
}


# --- added by the supervision work (telephony/supervision); additive only -----------------


async def _api_uuid_exists(switch: Switch, args: str) -> str:
    """``uuid_exists <uuid>`` → ``true`` / ``false`` (mod_commands)."""
    parts = args.split()
    if not parts:
        return "-USAGE: <uuid>\n"
    return "true" if parts[0] in switch.channels else "false"


_API.setdefault("uuid_exists", _api_uuid_exists)
