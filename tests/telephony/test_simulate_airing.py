"""`manage.py simulate_airing` against a running simulator: every call accounted for once."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import HotlineFactory
from tests.telephony.test_desktop_support import PASSWORD, SimulatorThread, sim_config

pytestmark = pytest.mark.django_db


def test_an_airing_places_every_call_and_accounts_for_each():
    # given the hotline in the database and a simulator with two ready agents
    HotlineFactory(number="4008001234", queue_name="orders")
    agents = [{"name": "1001@default"}, {"name": "1002@default"}]
    sim = SimulatorThread(sim_config(agents=agents, speed=50.0)).start()
    try:
        out = StringIO()
        # when twelve callers ring within three seconds of airing
        call_command(
            "simulate_airing",
            "--hotline=4008001234",
            "--calls=12",
            "--minutes=0.05",
            f"--port={sim.port}",
            f"--password={PASSWORD}",
            "--patience",
            "20",
            "60",
            "--talk",
            "10",
            "30",
            "--json",
            stdout=out,
        )
    finally:
        sim.stop()
    # then every call ends in exactly one outcome
    report = json.loads(out.getvalue())
    outcomes = ("answered", "abandoned", "overflow", "rejected", "failed")
    assert report["placed"] == 12
    assert report["unfinished"] == 0
    assert sum(report[o] for o in outcomes) == 12
    assert report["answered"] >= 2
    assert report["queue"] == "orders"


def test_an_unknown_hotline_is_refused_with_a_message():
    with pytest.raises(CommandError, match="4009999999"):
        call_command("simulate_airing", "--hotline=4009999999", "--calls=1")
