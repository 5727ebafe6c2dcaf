"""Issue #6: hold, end to end — the simulator's ``uuid_hold`` and simulated agents fire
``CHANNEL_HOLD`` / ``CHANNEL_UNHOLD`` with a real FreeSWITCH's header set, normalisation
turns them into ``CallHeld`` / ``CallUnheld``, the bridge writes ``CallEvent`` rows of those
kinds (what the agent statistics read) and the call's hold count and seconds, idempotently,
and the desktop's hold buttons put the caller on hold through the switch, permission-checked
and audited.

No capture of CHANNEL_HOLD exists in ``../shared/esl-captures``. FreeSWITCH fires it from
``switch_channel_mark_hold`` with ``switch_channel_event_set_data`` — the held channel's
full data, i.e. the header set of every other ``CHANNEL_*`` event of that leg — plus what
hold changes (``Channel-Call-State: HELD``, ``Caller-Channel-Last-Hold``,
``Caller-Channel-Hold-Accum``). The simulator builds it from the leg's captured
CHANNEL_BRIDGE; the first test checks the header set against that capture.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from telephony import normalize as d
from telephony.esl.errors import CommandError
from telephony.models import Call, CallEvent
from telephony.normalize import normalize
from telephony.services.calls import call_apply_event
from tests.telephony.captures import capture_event, require_captures
from tests.telephony.test_bridge_support import (
    HOTLINE,
    KNOWN_CALLER,
    PASSWORD,
    db,
    make_world,
    redis_layer,  # noqa: F401 - fixture
    sim_config,
    switch_and_bridge,
    wait_for,
)
from tests.telephony.test_simulator_support import config, events_until, running

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def _fixed(names: set[str]) -> set[str]:
    return {n for n in names if not n.startswith("variable_")}


# -- simulator + normalisation (no database) ----------------------------------------------------


async def test_uuid_hold_fires_channel_hold_and_unhold_with_the_channel_header_set():
    require_captures()
    async with running(config(agents=1, speed=20.0)) as (_server, client):
        caller = (
            await client.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} name=Customer talk=60")
        ).split()[1]
        events = await events_until(
            client, lambda e: e.get("CC-Action") == "bridge-agent-start", timeout=10
        )
        leg = events[-1].get("CC-Agent-UUID")
        assert leg

        assert (await client.api(f"uuid_hold {leg}")).startswith("+OK")
        held = (await events_until(client, lambda e: e.name == "CHANNEL_HOLD"))[-1]
        assert (await client.api(f"uuid_hold off {leg}")).startswith("+OK")
        unheld = (await events_until(client, lambda e: e.name == "CHANNEL_UNHOLD"))[-1]
        # an unknown channel is refused like on the switch
        with pytest.raises(CommandError, match="No such channel"):
            await client.api("uuid_hold nope")

    # the header set of the leg's channel events (the agent leg's captured CHANNEL_BRIDGE)
    captured = capture_event("plain-CHANNEL_BRIDGE--click-to-dial.txt")
    expected = _fixed({n for n, _ in captured.headers})
    for event in (held, unheld):
        assert _fixed({n for n, _ in event.headers}) == expected
        assert event.uuid == leg
        assert event.get("variable_cc_member_session_uuid") == caller
        assert event.get("Other-Leg-Unique-ID") == caller
    assert held.get("Channel-Call-State") == "HELD"
    assert int(held.get("Caller-Channel-Last-Hold")) > 0
    assert held.get("Caller-Channel-Hold-Accum") == "0"
    assert unheld.get("Channel-Call-State") == "ACTIVE"
    assert int(unheld.get("Caller-Channel-Hold-Accum")) > 0

    (on,) = normalize(held)
    assert isinstance(on, d.CallHeld)
    assert (on.call_uuid, on.leg_uuid, on.agent) == (caller, leg, "1001@default")
    (off,) = normalize(unheld)
    assert isinstance(off, d.CallUnheld)
    assert (off.call_uuid, off.leg_uuid) == (caller, leg)
    assert off.hold_accum_seconds is not None and off.hold_accum_seconds >= 0
    assert on.key != off.key and on.key.startswith("CallHeld:")


async def test_simulated_agents_hold_and_the_hangup_reports_the_accumulated_hold():
    cfg = config(agents=1, speed=20.0)
    cfg.agents[0].hold_probability = 1.0
    cfg.agents[0].hold_after = 2.0
    cfg.agents[0].hold_seconds = 10.0
    async with running(cfg) as (_server, client):
        await client.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=30")
        events = await events_until(
            client,
            lambda e: e.name == "CHANNEL_HANGUP_COMPLETE" and "agent" in e.get("Channel-Name"),
            timeout=10,
        )
    names = [e.name for e in events]
    assert names.count("CHANNEL_HOLD") == 1 and names.count("CHANNEL_UNHOLD") == 1
    assert names.index("CHANNEL_HOLD") < names.index("CHANNEL_UNHOLD")
    # the agent leg's billing variables count the hold (≈ 10 simulated seconds)
    assert 8 <= int(events[-1].get("variable_hold_accum_seconds")) <= 12


# -- applying the domain events (database) --------------------------------------------------


def _held(n: int, seconds: float, leg: str = "leg-a") -> d.CallHeld:
    return d.CallHeld(
        key=f"CallHeld:core:{n}",
        at=T0 + dt.timedelta(seconds=seconds),
        call_uuid="call-h",
        leg_uuid=leg,
        channel="null/agent-1001",
        agent="1001@default",
    )


def _unheld(n: int, seconds: float) -> d.CallUnheld:
    return d.CallUnheld(
        key=f"CallUnheld:core:{n}",
        at=T0 + dt.timedelta(seconds=seconds),
        call_uuid="call-h",
        leg_uuid="leg-a",
        channel="null/agent-1001",
        agent="1001@default",
        hold_accum_seconds=None,
    )


def _ended(n: int, seconds: float) -> d.CallEnded:
    end = T0 + dt.timedelta(seconds=seconds)
    return d.CallEnded(
        key=f"CallEnded:core:{n}",
        at=end,
        call_uuid="call-h",
        direction="inbound",
        cause="NORMAL_CLEARING",
        outcome="answered",
        queue="orders",
        agent="1001@default",
        wait_seconds=3,
        talk_seconds=100,
        billsec=100,
        duration=105,
        answered_at=T0,
        bridged_at=T0,
        ended_at=end,
        originate_disposition=None,
    )


@pytest.mark.django_db
def test_hold_events_become_call_event_rows_and_the_calls_hold_figures_idempotently():
    call = Call.objects.create(
        uuid="call-h",
        direction="inbound",
        caller="+8613800138000",
        created_at=T0,
        answered_at=T0,
    )
    call_apply_event(_held(1, 10), publish=False)
    call_apply_event(_held(1, 10), publish=False)  # the same event again: nothing
    call_apply_event(_held(2, 12, leg="leg-b"), publish=False)  # held already: one hold
    call.refresh_from_db()
    assert (call.hold_count, call.held_at) == (1, T0 + dt.timedelta(seconds=10))

    call_apply_event(_unheld(3, 40), publish=False)
    call_apply_event(_unheld(3, 40), publish=False)
    call.refresh_from_db()
    assert (call.hold_count, call.hold_seconds, call.held_at) == (1, 30, None)

    # a second hold, and the caller hangs up while held: the hold ends with the call
    call_apply_event(_held(4, 60), publish=False)
    call_apply_event(_ended(5, 75), publish=False)
    call_apply_event(_ended(5, 75), publish=False)
    call.refresh_from_db()
    assert (call.hold_count, call.hold_seconds, call.held_at) == (2, 45, None)
    rows = list(CallEvent.objects.filter(call=call).values_list("kind", "at"))
    kinds = [k for k, _ in rows if k in ("CallHeld", "CallUnheld")]
    assert kinds == ["CallHeld", "CallUnheld", "CallHeld", "CallUnheld"]
    assert ("CallUnheld", T0 + dt.timedelta(seconds=75)) in rows  # closed at the hang-up


# -- end to end: desktop button → switch → bridge → records --------------------------------------


def _post_hold(user, action: str):
    client = Client()
    client.force_login(user)
    response = client.post("/telephony/desktop/hold/", {"action": action})
    return response.status_code, response.content.decode()


def _call_row(uuid: str):
    return Call.objects.filter(uuid=uuid).values().first()


def _hold_audits(call_uuid: str) -> list[str]:
    from tvshop.audit.models import AuditEntry

    call = Call.objects.get(uuid=call_uuid)
    return list(
        AuditEntry.objects.filter(object_id=str(call.pk), note__in=["hold", "unhold"])
        .order_by("id")
        .values_list("note", flat=True)
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_layer", "english")
async def test_the_desktop_holds_and_takes_back_the_caller_through_the_switch(settings):
    world = await db(make_world)()
    first, second = world["users"]
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        settings.TELEPHONY_ESL = {
            "host": "127.0.0.1",
            "port": server.port,
            "password": PASSWORD,
            "simulated": False,
        }
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1000")).split()[
            1
        ]

        async def answered():
            row = await db(_call_row)(uuid)
            has_leg = await db(
                lambda: CallEvent.objects.filter(call__uuid=uuid, kind="CallAnswered").exists()
            )()
            return row if row and row["answered_at"] and has_leg else None

        await wait_for(answered, 10)
        # someone with no call, and someone who may not use the desktop, cannot hold
        status, text = await db(_post_hold)(second, "hold")
        assert status == 409 and "no call" in text
        from tests.factories import UserFactory

        outsider = await db(UserFactory)()
        assert (await db(_post_hold)(outsider, "hold"))[0] == 403

        status, text = await db(_post_hold)(first, "hold")
        assert status == 200, text
        agent_leg = server.switch.channels[
            next(u for u, ch in server.switch.channels.items() if ch.agent is not None)
        ]
        assert agent_leg.held  # uuid_hold went to the agent's leg: the caller hears music

        async def on_hold():
            row = await db(_call_row)(uuid)
            return row if row["hold_count"] == 1 and row["held_at"] else None

        await wait_for(on_hold, 10)
        status, _ = await db(_post_hold)(first, "unhold")
        assert status == 200

        async def back():
            row = await db(_call_row)(uuid)
            return row if row["held_at"] is None and row["hold_count"] == 1 else None

        await wait_for(back, 10)
        await server.switch.api(f"uuid_kill {uuid}")
        await bridge.drain(5)

    kinds = await db(
        lambda: list(
            CallEvent.objects.filter(call__uuid=uuid, kind__in=["CallHeld", "CallUnheld"])
            .order_by("at", "id")
            .values_list("kind", flat=True)
        )
    )()
    assert kinds == ["CallHeld", "CallUnheld"]
    assert await db(_hold_audits)(uuid) == ["hold", "unhold"]
