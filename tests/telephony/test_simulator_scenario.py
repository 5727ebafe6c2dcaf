"""The scenario driver places calls into a running simulator and accounts for every one."""

from __future__ import annotations

from telephony.simulator import Scenario
from tests.telephony.test_simulator_support import config, running


def test_plan_is_deterministic_for_a_seed():
    first = Scenario(hotline="4008001234", calls=50, minutes=1, seed=7).plan()
    again = Scenario(hotline="4008001234", calls=50, minutes=1, seed=7).plan()
    other = Scenario(hotline="4008001234", calls=50, minutes=1, seed=8).plan()

    assert first == again
    assert first != other
    assert len({c.uuid for c in first}) == 50
    assert all(0 <= c.at <= 60 for c in first)


async def test_every_placed_call_is_accounted_for_exactly_once():
    cfg = config(agents=3, speed=120.0)
    cfg.queues[0].max_wait_time = 40
    for agent in cfg.agents:
        agent.wrap_up_time = 2
    cfg.agents[2].answers = False  # rings out: RONA, then On Break
    cfg.agents[2].max_no_answer = 1
    callers = [f"1390000{i:04d}" for i in range(40)]
    async with running(cfg) as (server, client):
        await client.api(f"hash insert/tvshop_blacklist/{callers[0]}/1")
        await client.api(f"hash insert/tvshop_vip/{callers[1]}/1000")
        scenario = Scenario(
            hotline="4008001234",
            calls=80,
            minutes=1,
            seed=3,
            callers=callers,
            patience=(5.0, 60.0),
            talk_time=(5.0, 30.0),
        )

        report = await scenario.run(client)
        # half-way through, the supervisor would flip the overflow switch; here at the end
        await client.api("global_setvar tvshop_overflow_orders=true")
        overflow = await Scenario(
            hotline="4008001234", calls=5, minutes=0.1, seed=4, talk_time=(1, 2)
        ).run(client)

        assert not server.switch.channels  # nothing left ringing or bridged

    assert report.placed == 80
    assert report.unfinished == 0
    assert report.accounted == report.placed == len(report.outcomes)
    assert report.counts["rejected"] == 2  # callers[0] calls twice (80 calls, 40 numbers)
    assert report.counts["answered"] > 0
    assert report.counts["abandoned"] + report.counts["overflow"] > 0
    assert report.counts["failed"] == 0
    assert overflow.counts["overflow"] == overflow.placed == 5


def test_fresh_uuids_keep_the_seeded_plan_but_never_repeat_a_call():
    """A load test run twice on one database must not reuse call uuids (the second run's
    events would land on the first run's records); everything else stays repeatable."""
    from telephony.simulator.scenario import Scenario

    def plan(**kw):
        return Scenario(hotline="4008001234", calls=50, minutes=1, seed=6, **kw).plan()

    same, again = plan(), plan()
    assert [c.uuid for c in same] == [c.uuid for c in again]
    first, second = plan(fresh_uuids=True), plan(fresh_uuids=True)
    assert not {c.uuid for c in first} & {c.uuid for c in second}
    assert not {c.uuid for c in first} & {c.uuid for c in same}
    strip = [(c.at, c.caller, c.patience, c.talk_time) for c in same]
    assert [(c.at, c.caller, c.patience, c.talk_time) for c in first] == strip
