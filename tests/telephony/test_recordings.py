"""Recordings: search (agent, time, customer, order, number), permission, the range-capable
stream, traversal refused, and the audit of every play and download."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call
from telephony.supervision.services import AuditActions, recording_file
from tests.factories import CustomerFactory, HotlineFactory, UserFactory
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

AUDIO = bytes(range(256)) * 40  # 10,240 bytes with a recognisable pattern
T0 = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


@pytest.fixture
def root(tmp_path, settings):
    folder = tmp_path / "recordings"
    (folder / "2026" / "11").mkdir(parents=True)
    (folder / "2026" / "11" / "a.wav").write_bytes(AUDIO)
    (tmp_path / "secret.txt").write_text("not a recording")
    settings.TELEPHONY_RECORDINGS_ROOT = folder
    settings.TELEPHONY_RECORDINGS_SWITCH_PREFIX = "/var/lib/freeswitch/recordings"
    return folder


def _call(path: str = "2026/11/a.wav", **kwargs) -> Call:
    n = Call.objects.count() + 1
    return Call.objects.create(
        uuid=kwargs.pop("uuid", f"rec-{n}"),
        direction=kwargs.pop("direction", CallDirection.INBOUND),
        caller=kwargs.pop("caller", "+8613800138000"),
        created_at=kwargs.pop("created_at", T0),
        ended_at=kwargs.pop("ended_at", T0 + dt.timedelta(minutes=2)),
        outcome=kwargs.pop("outcome", CallOutcome.ANSWERED),
        recording_path=path,
        **kwargs,
    )


def _audits(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# --- search --------------------------------------------------------------------------------


def test_recordings_list_needs_the_listen_permission(client, client_for):
    url = reverse("telephony:recording_list")
    assert client.get(url).status_code == 302
    assert client_for("agent").get(url).status_code == 403
    assert client_for("finance").get(url).status_code == 403
    assert client_for("supervisor").get(url).status_code == 200


def test_search_by_agent_time_customer_order_and_number(root, client_for):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    zhang = CustomerFactory(name="张秀英")
    wang = CustomerFactory(name="王芳")
    first = _call(agent=alice, customer=zhang, caller="+8613800138000", created_at=T0)
    second = _call(
        agent=bob,
        customer=wang,
        caller="+8613911112222",
        created_at=T0 + dt.timedelta(days=1),
    )
    _call(path="", agent=alice, created_at=T0)  # no recording: never listed
    order = make_order(customer=zhang, call_uuid=first.uuid)
    client = client_for("supervisor")
    url = reverse("telephony:recording_list")

    def ids(**params) -> list[int]:
        response = client.get(url, params)
        assert response.status_code == 200
        return [row["call"].pk for row in response.context["rows"]]

    assert ids() == [second.pk, first.pk]  # newest first
    assert ids(agent=alice.pk) == [first.pk]
    assert ids(date_from="2026-11-21") == [second.pk]
    assert ids(date_to="2026-11-20") == [first.pk]
    assert ids(date_from="2026-11-20", date_to="2026-11-20") == [first.pk]
    assert ids(customer=zhang.pk) == [first.pk]
    assert ids(customer_name="王") == [second.pk]
    assert ids(order=order.number) == [first.pk]
    assert ids(order="NO-SUCH") == []
    assert ids(caller="1111") == [second.pk]
    assert ids(caller="138 0013 8000") == [first.pk]
    # a reversed range is a form error, not a 500, and lists nothing
    response = client.get(url, {"date_from": "2026-11-21", "date_to": "2026-11-20"})
    assert response.status_code == 200 and response.context["rows"] == []
    assert "The end is before the start." in response.content.decode()


def test_list_masks_numbers_and_plays_inline(root, client_for, django_assert_max_num_queries):
    for n in range(12):
        _call(agent=UserFactory(), customer=CustomerFactory(), uuid=f"bulk-{n}")
    client = client_for("supervisor")
    # supervisors see full numbers by default; an agent-like role with listen only sees masks
    with django_assert_max_num_queries(12):
        response = client.get(reverse("telephony:recording_list"))
    html = response.content.decode()
    assert html.count("<audio ") == 12
    assert reverse("telephony:recording_play", args=[Call.objects.first().pk]) in html
    assert reverse("telephony:recording_download", args=[Call.objects.first().pk]) in html


def test_numbers_are_masked_without_the_full_number_permission(root, make_user, client):
    from django.contrib.auth.models import Permission

    _call(caller="+8613800138000")
    user = make_user()
    user.user_permissions.add(Permission.objects.get(codename="listen_recording"))
    client.force_login(user)
    html = client.get(reverse("telephony:recording_list")).content.decode()
    assert "138****8000" in html
    assert "13800138000" not in html and "138 0013 8000" not in html


def test_htmx_search_gets_only_the_results(root, client_for):
    _call()
    response = client_for("supervisor").get(
        reverse("telephony:recording_list"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'id="recording-table"' in html and "<html" not in html


# --- the stream ----------------------------------------------------------------------------


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_play_streams_the_whole_file_and_audits_the_play(root, client_for):
    call = _call()
    client = client_for("supervisor")
    response = client.get(reverse("telephony:recording_play", args=[call.pk]))
    assert response.status_code == 200
    assert _body(response) == AUDIO
    assert response["Content-Length"] == str(len(AUDIO))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] in ("audio/x-wav", "audio/wav")
    assert response["Content-Disposition"].startswith("inline;")
    [entry] = _audits(AuditActions.RECORDING_PLAY)
    assert (entry.actor, entry.object_id) == (client.user, str(call.pk))
    assert entry.after["recording"] == "2026/11/a.wav"


def test_range_requests_answer_206_and_only_the_first_part_is_audited(root, client_for):
    call = _call()
    client = client_for("supervisor")
    url = reverse("telephony:recording_play", args=[call.pk])

    # the audio element starts at 0 (audited as one play) ...
    first = client.get(url, HTTP_RANGE="bytes=0-")
    assert first.status_code == 206
    assert first["Content-Range"] == f"bytes 0-{len(AUDIO) - 1}/{len(AUDIO)}"
    assert _body(first) == AUDIO
    # ... then seeks: a middle slice, an open end, the last bytes (not audited again)
    middle = client.get(url, HTTP_RANGE="bytes=100-299")
    assert middle.status_code == 206
    assert middle["Content-Range"] == f"bytes 100-299/{len(AUDIO)}"
    assert middle["Content-Length"] == "200"
    assert _body(middle) == AUDIO[100:300]
    tail = client.get(url, HTTP_RANGE="bytes=10000-")
    assert _body(tail) == AUDIO[10000:]
    suffix = client.get(url, HTTP_RANGE="bytes=-16")
    assert suffix["Content-Range"] == f"bytes {len(AUDIO) - 16}-{len(AUDIO) - 1}/{len(AUDIO)}"
    assert _body(suffix) == AUDIO[-16:]
    beyond_end = client.get(url, HTTP_RANGE="bytes=10200-99999")
    assert _body(beyond_end) == AUDIO[10200:]
    assert len(_audits(AuditActions.RECORDING_PLAY)) == 1

    # an unsatisfiable range is a 416 with the size
    refused = client.get(url, HTTP_RANGE=f"bytes={len(AUDIO)}-")
    assert refused.status_code == 416
    assert refused["Content-Range"] == f"bytes */{len(AUDIO)}"
    # several ranges or another unit: the whole file
    whole = client.get(url, HTTP_RANGE="bytes=0-1,5-6")
    assert whole.status_code == 200 and _body(whole) == AUDIO
    assert len(_audits(AuditActions.RECORDING_PLAY)) == 2


def test_download_is_an_attachment_and_audited(root, client_for):
    call = _call()
    client = client_for("supervisor")
    response = client.get(reverse("telephony:recording_download", args=[call.pk]))
    assert response.status_code == 200
    assert _body(response) == AUDIO
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"call-{call.pk}-" in response["Content-Disposition"]
    [entry] = _audits(AuditActions.RECORDING_DOWNLOAD)
    assert entry.actor == client.user
    assert _audits(AuditActions.RECORDING_PLAY) == []


def test_stream_refuses_users_without_the_permission(root, client, client_for):
    call = _call()
    for url in (
        reverse("telephony:recording_play", args=[call.pk]),
        reverse("telephony:recording_download", args=[call.pk]),
    ):
        assert client.get(url).status_code == 302
        assert client_for("agent").get(url).status_code == 403
        assert client_for("finance").get(url).status_code == 403
    assert AuditEntry.objects.filter(action__startswith="recording_").count() == 0


def test_stream_answers_post_with_405(root, client_for):
    call = _call()
    response = client_for("supervisor").post(reverse("telephony:recording_play", args=[call.pk]))
    assert response.status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "2026/../../secret.txt",
        "/etc/passwd",
        "/var/lib/freeswitch/recordings/../../../../etc/passwd",
    ],
)
def test_paths_outside_the_root_are_refused(root, client_for, path):
    call = _call(path=path)
    client = client_for("supervisor")
    response = client.get(reverse("telephony:recording_play", args=[call.pk]))
    assert response.status_code == 403
    assert b"not a recording" not in response.content and b"root:" not in response.content
    assert AuditEntry.objects.filter(action__startswith="recording_").count() == 0


def test_a_symlink_out_of_the_root_is_refused(root, client_for):
    (root / "2026" / "link.wav").symlink_to(root.parent / "secret.txt")
    call = _call(path="2026/link.wav")
    response = client_for("supervisor").get(reverse("telephony:recording_play", args=[call.pk]))
    assert response.status_code == 403


def test_the_switch_path_is_re_rooted_and_absolute_paths_inside_the_root_work(root):
    switch_path = _call(path="/var/lib/freeswitch/recordings/2026/11/a.wav")
    inside = _call(path=str(root / "2026" / "11" / "a.wav"))
    assert recording_file(switch_path) == root / "2026" / "11" / "a.wav"
    assert recording_file(inside) == root / "2026" / "11" / "a.wav"


def test_missing_files_and_calls_without_recording_are_404(root, client_for):
    client = client_for("supervisor")
    gone = _call(path="2026/11/not-there.wav")
    none = _call(path="")
    assert client.get(reverse("telephony:recording_play", args=[gone.pk])).status_code == 404
    assert client.get(reverse("telephony:recording_play", args=[none.pk])).status_code == 404
    assert client.get(reverse("telephony:recording_play", args=[999999])).status_code == 404
    with pytest.raises(DomainError):
        recording_file(none)


def test_recording_of_an_outbound_call_shows_the_callee(root, client_for):
    _call(direction=CallDirection.OUTBOUND, caller="1001", callee="+8613700001111")
    html = client_for("supervisor").get(reverse("telephony:recording_list")).content.decode()
    assert "137 0000 1111" in html or "13700001111" in html


def test_hotline_and_customer_columns(root, client_for):
    hotline = HotlineFactory(number="4008009999")
    customer = CustomerFactory(name="李雷")
    _call(hotline=hotline, station=hotline.station, customer=customer, created_at=timezone.now())
    html = client_for("supervisor").get(reverse("telephony:recording_list")).content.decode()
    assert "4008009999" in html and "李雷" in html


# --- retention -----------------------------------------------------------------------------


def test_retention_deletes_old_files_only_and_is_audited(root, settings):
    from telephony.supervision.services import recordings_purge_expired

    old_file = root / "2026" / "11" / "old.wav"
    old_file.write_bytes(b"old")
    outside = root.parent / "keep.wav"
    outside.write_bytes(b"not ours")
    now = T0 + dt.timedelta(days=100)
    old = _call(path="2026/11/old.wav", created_at=T0)
    gone = _call(path="2026/11/vanished.wav", created_at=T0)
    foreign = _call(path=str(outside), created_at=T0)
    recent = _call(path="2026/11/a.wav", created_at=now - dt.timedelta(days=3))

    # without a retention setting nothing happens
    settings.TELEPHONY_RECORDINGS_RETENTION_DAYS = None
    assert recordings_purge_expired(now=now) == 0
    assert old_file.exists()

    # with 30 days: the old file is deleted, the vanished one's path cleared
    settings.TELEPHONY_RECORDINGS_RETENTION_DAYS = 30
    assert recordings_purge_expired(now=now) == 2
    assert not old_file.exists()
    assert (root / "2026" / "11" / "a.wav").exists() and outside.exists()
    paths = dict(Call.objects.values_list("pk", "recording_path"))
    assert (paths[old.pk], paths[gone.pk]) == ("", "")
    assert paths[foreign.pk] == str(outside)  # outside the root: never touched
    assert paths[recent.pk] == "2026/11/a.wav"
    [entry] = AuditEntry.objects.filter(note="recordings retention")
    assert entry.after["removed"] == 2
    # a second run finds nothing more
    assert recordings_purge_expired(now=now) == 0
    assert AuditEntry.objects.filter(note="recordings retention").count() == 1
