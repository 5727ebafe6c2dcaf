"""telephony.switch: short-lived ESL commands for the web code, against the simulator."""

from __future__ import annotations

import asyncio
import threading

import pytest

from telephony.switch import (
    SwitchRefused,
    SwitchUnavailable,
    switch_api,
    switch_bgapi,
    switch_bgapi_job,
)
from tests.telephony import test_desktop_support as support

simulator = support.simulator  # fixture
dead_switch = support.dead_switch  # fixture


def test_api_returns_the_reply(simulator):
    assert "1001@default" in switch_api("callcenter_config agent list")


def test_api_error_is_a_translated_refusal(simulator):
    with pytest.raises(SwitchRefused) as info:
        switch_api("callcenter_config agent set status 9999@default 'Available'")
    assert info.value.status == 409 and "Invalid Agent" in info.value.reply


def test_unreachable_switch_is_a_503_domain_error(dead_switch):
    with pytest.raises(SwitchUnavailable) as info:
        switch_api("status")
    assert info.value.status == 503 and info.value.code == "switch_unavailable"
    with pytest.raises(SwitchUnavailable):
        switch_bgapi("status")


def test_bgapi_returns_the_job_uuid(simulator):
    job_uuid = switch_bgapi("status")
    assert len(job_uuid) == 36 and job_uuid.count("-") == 4


def test_bgapi_fast_failure_comes_back_within_the_wait(simulator):
    job = switch_bgapi_job("originate user/1099 &park()", wait=3)
    assert job.finished and not job.ok and job.error == "SUBSCRIBER_ABSENT"


def test_bgapi_late_result_goes_to_the_handler(simulator):
    # the agent's phone answers after a while: the request does not wait, the handler gets it
    done = threading.Event()
    results = []

    def handler(job):
        results.append(job)
        done.set()

    job = switch_bgapi_job("originate user/1001 &park()", wait=0, on_result=handler)
    assert not job.finished and job.job_uuid
    assert done.wait(10)
    assert results[0].ok and results[0].output.startswith("+OK")


async def test_api_works_from_a_thread_running_an_event_loop(simulator):
    # e.g. a sync helper called from async code: no "AsyncToSync in an event loop" error
    assert "1001@default" in switch_api("callcenter_config agent list")
    await asyncio.sleep(0)
