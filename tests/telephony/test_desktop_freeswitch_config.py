"""The shipped FreeSWITCH configuration (telephony/freeswitch/): the XML parses, and the
hotline dialplan uses every variable, hash and global the simulator's dialplan reads or sets
and the bridge reads — names taken from the simulator's and the normaliser's own code."""

from __future__ import annotations

import ast
import inspect
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import telephony
from telephony.normalize import rules
from telephony.simulator import switch as sim_switch

CONFIG = Path(telephony.__file__).resolve().parent / "freeswitch"
DIALPLAN = CONFIG / "dialplan" / "tvshop_hotlines.xml"
CALLCENTER = CONFIG / "autoload_configs" / "callcenter.conf.xml"
EVENT_SOCKET = CONFIG / "autoload_configs" / "event_socket.conf.xml"
# The captures' test scenario A ("answer and park"): a simulator switch, not production.
SIMULATOR_ONLY = {"tvshop_mode"}
HOTLINE_METHODS = ("_hotline", "_overflow", "route")


def _simulator_names() -> set[str]:
    """tvshop_*/cc_* names in the simulator's hotline dialplan: string constants (hash
    namespaces, variables read), keyword arguments of ``ch.set(...)`` (variables set) and
    the constant part of f-strings (the ``tvshop_overflow_<queue>`` global)."""
    names: set[str] = set()
    for method in HOTLINE_METHODS:
        source = inspect.getsource(getattr(sim_switch.Switch, method))
        tree = ast.parse("if True:\n" + source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(re.findall(r"\b(?:tvshop|cc)_\w+", node.value))
            elif isinstance(node, ast.keyword) and (node.arg or "").startswith(("tvshop_", "cc_")):
                names.add(node.arg)
    return names - SIMULATOR_ONLY


def test_the_xml_files_parse():
    for path in (DIALPLAN, CALLCENTER, EVENT_SOCKET):
        ET.parse(path)  # raises on malformed XML


def test_names_were_found_in_the_simulator():
    # guards the extraction itself: it must see the well-known names
    names = _simulator_names()
    expected = {"tvshop_blacklist", "tvshop_vip", "tvshop_lastagent", "tvshop_overflow_"}
    assert expected <= names, names
    assert {"tvshop_callback", "tvshop_dnis", "cc_base_score"} <= names


@pytest.mark.parametrize(
    "name", sorted(_simulator_names() | {rules.CALLBACK_MARKER, rules.DNIS_VARIABLE})
)
def test_dialplan_uses_every_name_the_simulator_and_bridge_use(name):
    assert name in DIALPLAN.read_text(encoding="utf-8")


def test_dialplan_reads_the_hashes_and_global_as_the_simulator_does():
    text = DIALPLAN.read_text(encoding="utf-8")
    for space in ("tvshop_blacklist", "tvshop_vip", "tvshop_lastagent"):
        assert f"${{hash(select/{space}/${{caller_id_number}})}}" in text
    assert "${global_getvar(tvshop_overflow_orders)}" in text
    root = ET.parse(DIALPLAN).getroot()
    overflow = root.find("extension[@name='tvshop_overflow']")
    actions = [(a.get("application"), a.get("data")) for a in overflow.iter("action")]
    assert ("set", "tvshop_callback=true") in actions
    assert actions[-1] == ("hangup", "NORMAL_CLEARING")
    hotline = root.find("extension[@name='tvshop_hotline_4008001234']")
    apps = [(a.get("application"), a.get("data")) for a in hotline.iter("action")]
    assert ("hangup", "CALL_REJECTED") in apps
    assert ("callcenter", "orders") in apps
    assert ("transfer", "tvshop_overflow XML default") in apps


def test_callcenter_queues_and_agents_follow_the_conventions():
    root = ET.parse(CALLCENTER).getroot()
    queues = {q.get("name"): q for q in root.iter("queue")}
    params = {p.get("name"): p.get("value") for p in queues["orders"].iter("param")}
    assert params["strategy"] == "longest-idle-agent"
    assert int(params["max-wait-time"]) > 0
    assert "${uuid}" in params["record-template"]  # the path reaches the call record
    agents = list(root.iter("agent"))
    assert agents
    for agent in agents:
        ext = agent.get("name").split("@")[0]
        assert agent.get("type") == "callback"
        assert agent.get("contact").endswith(f"user/{ext}")
        for attribute in ("wrap-up-time", "max-no-answer", "no-answer-delay-time"):
            assert agent.get(attribute, "").isdigit(), attribute
        assert f"agent_{ext}" in queues  # the personal queue for "last agent first"
    tiers = {(t.get("agent"), t.get("queue")) for t in root.iter("tier")}
    assert ("1001@default", "orders") in tiers


def test_event_socket_is_local_with_a_placeholder_password():
    root = ET.parse(EVENT_SOCKET).getroot()
    params = {p.get("name"): p.get("value") for p in root.iter("param")}
    assert params["listen-ip"] == "127.0.0.1"
    assert params["password"] != "ClueCon" and "CHANGE" in params["password"]
