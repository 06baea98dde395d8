"""BMLT import: the semantic API's two answer shapes, every field mapping, HTTP, hostile input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters import net
from fama_adapters.meetings import ImportOptions, MeetingFeedError
from fama_adapters.meetings.bmlt import (
    WORLD_IDS,
    bmlt_day,
    bmlt_end,
    fetch_bmlt,
    read_bmlt,
    read_bmlt_file,
    read_bmlt_json,
    search_url,
)
from fama_core.codes import AttendanceMode
from fama_core.directory import MeetingFeature, Weekday, WeeklySlot
from fama_core.errors import TransportError

from .external import external

BMLT = external("bmlt")
needs_bmlt = pytest.mark.skipif(
    BMLT is None, reason="reference folder shared/external/bmlt is absent on this machine"
)
LONDON = ImportOptions(organisation="na", timezone="Europe/London")

# Formats as an English BMLT server lists them: server-local ids and keys, NAWS world ids.
FORMATS = [
    {"id": "1", "key_string": "B", "world_id": "BEG", "format_type_enum": "FC3"},
    {"id": "4", "key_string": "C", "world_id": "CLOSED", "format_type_enum": "O"},
    {"id": "17", "key_string": "O", "world_id": "OPEN", "format_type_enum": "O"},
    {"id": "3", "key_string": "BT", "world_id": "BT", "format_type_enum": "FC1"},
    {"id": "32", "key_string": "W", "world_id": "W", "format_type_enum": "FC3"},
    {"id": "33", "key_string": "WC", "world_id": "WCHR", "format_type_enum": "FC2"},
    {"id": "9", "key_string": "ES", "world_id": "LANG", "format_type_enum": "FC3"},
    {"id": "54", "key_string": "VM", "world_id": "VM", "format_type_enum": "FC2"},
    {"id": "55", "key_string": "TC", "world_id": "TC", "format_type_enum": "FC2"},
    {"id": "56", "key_string": "HY", "world_id": "HYBR", "format_type_enum": "FC2"},
    {"id": "60", "key_string": "Tea", "world_id": "", "format_type_enum": "FC3"},
]


def bmlt_meeting(**fields: str) -> dict[str, str]:
    """An invented BMLT meeting, every value a string as the API sends it."""
    base = {
        "id_bigint": "501",
        "worldid_mixed": "G00012345",
        "service_body_bigint": "7",
        "weekday_tinyint": "3",
        "venue_type": "1",
        "start_time": "19:30:00",
        "duration_time": "01:30:00",
        "time_zone": "",
        "formats": "O,B",
        "format_shared_id_list": "17,1",
        "lang_enum": "en",
        "longitude": "-1.2345",
        "latitude": "52.3456",
        "published": "1",
        "root_server_uri": "https://bmlt.example.org/main_server",
        "meeting_name": "Northbridge Wednesday Hope",
        "location_text": "St Aidan's Church Hall",
        "location_info": "Side door",
        "location_street": "12 Church Lane",
        "location_municipality": "Northbridge",
        "location_sub_province": "",
        "location_province": "",
        "location_postal_code_1": "NE1 2AA",
        "location_nation": "UK",
        "comments": "Tea from 19:15",
        "virtual_meeting_link": "",
        "virtual_meeting_additional_info": "",
        "phone_meeting_number": "",
        "contact_name_1": "",
        "contact_phone_1": "",
        "contact_email_1": "",
        "email_contact": "",
    }
    return {**base, **fields}


def one(raw: Any, formats: Any = FORMATS, options: ImportOptions = LONDON):  # type: ignore[no-untyped-def]
    report = read_bmlt([raw], formats, options=options)
    assert not report.problems, report.problems
    (meeting,) = report.meetings
    return meeting


# --- the field mapping, one rule per test ------------------------------------------------


def test_weekday_one_is_sunday_and_seven_is_saturday():
    assert bmlt_day("1") is Weekday.SUNDAY
    assert bmlt_day("2") is Weekday.MONDAY
    assert bmlt_day("7") is Weekday.SATURDAY


@pytest.mark.parametrize("value", ["0", "8", "", "Mon", "-1", "1.0"])
def test_a_weekday_outside_1_to_7_refuses_the_meeting_naming_the_field(value):
    report = read_bmlt([bmlt_meeting(weekday_tinyint=value, start_time="19:00:00")], FORMATS)
    if value == "":
        assert report.problems[0].problems[0].location == "weekday_tinyint"
        assert report.problems[0].problems[0].code == "missing"
    else:
        assert [p.problems[0].location for p in report.problems] == ["weekday_tinyint"]
    assert not report.meetings


def test_start_plus_duration_is_the_end():
    m = one(bmlt_meeting(start_time="19:30:00", duration_time="01:30:00"))
    assert m.slots == (WeeklySlot(day=Weekday.TUESDAY, start=dt.time(19, 30), end=dt.time(21)),)


def test_an_end_past_midnight_wraps_to_the_next_day():
    m = one(bmlt_meeting(start_time="23:30:00", duration_time="01:00:00"))
    (slot,) = m.slots
    assert slot.end == dt.time(0, 30)
    assert slot.crosses_midnight


@pytest.mark.parametrize("duration", ["", "00:00:00", "0:00"])
def test_an_empty_or_zero_duration_leaves_the_end_open(duration):
    m = one(bmlt_meeting(duration_time=duration))
    assert m.slots[0].end is None


def test_a_24_hour_duration_keeps_the_meeting_without_an_end_and_warns():
    report = read_bmlt([bmlt_meeting(duration_time="24:00:00")], FORMATS, options=LONDON)
    assert report.meetings[0].slots[0].end is None
    assert any("duration_time" in w for w in report.warnings)


def test_a_malformed_duration_refuses_the_meeting():
    report = read_bmlt([bmlt_meeting(duration_time="ninety minutes")], FORMATS, options=LONDON)
    assert report.problems[0].problems[0].location == "duration_time"


@pytest.mark.parametrize(
    ("venue", "mode"),
    [("1", AttendanceMode.IN_PERSON), ("2", AttendanceMode.ONLINE), ("3", AttendanceMode.HYBRID)],
)
def test_venue_type_gives_attendance(venue, mode):
    link = "https://meet.example.org/nb" if venue != "1" else ""
    assert one(bmlt_meeting(venue_type=venue, virtual_meeting_link=link)).attendance is mode


def test_without_venue_type_attendance_comes_from_the_vm_and_hybr_world_ids():
    assert (
        one(bmlt_meeting(venue_type="", format_shared_id_list="54")).attendance
        is AttendanceMode.ONLINE
    )
    assert (
        one(bmlt_meeting(venue_type="", format_shared_id_list="54,56")).attendance
        is AttendanceMode.HYBRID
    )
    no_field = bmlt_meeting()
    del no_field["venue_type"]
    assert one(no_field).attendance is AttendanceMode.IN_PERSON


def test_a_temporarily_closed_venue_is_inactive_in_person_and_online_otherwise():
    assert one(bmlt_meeting(format_shared_id_list="55")).attendance is AttendanceMode.INACTIVE
    hybrid = bmlt_meeting(venue_type="3", format_shared_id_list="55")
    assert one(hybrid).attendance is AttendanceMode.ONLINE


def test_formats_map_to_features_by_world_id_not_by_local_key():
    # Key "B" would be Big Book in Meeting Guide; its world id BEG says newcomers.
    m = one(bmlt_meeting(formats="B,C,W,WC", format_shared_id_list="1,4,32,33"))
    assert set(m.features) == {
        MeetingFeature.NEWCOMER,
        MeetingFeature.CLOSED,
        MeetingFeature.WOMEN,
        MeetingFeature.WHEELCHAIR_ACCESS,
    }


def test_na_world_ids_without_a_fama_feature_are_kept_as_their_world_id():
    m = one(bmlt_meeting(format_shared_id_list="3,17"))
    assert m.unrecognised_types == ("BT",)
    assert m.features == (MeetingFeature.OPEN,)


def test_a_local_format_without_world_id_is_kept_as_its_key():
    assert one(bmlt_meeting(format_shared_id_list="60")).unrecognised_types == ("Tea",)


def test_a_language_format_gives_the_meeting_language():
    m = one(bmlt_meeting(format_shared_id_list="9,17"))
    assert m.languages == ("es",)
    assert m.features == (MeetingFeature.OPEN,)


def test_formats_resolve_by_key_when_the_answer_omits_the_id_list():
    raw = bmlt_meeting(formats="O,BT")
    del raw["format_shared_id_list"]
    m = one(raw)
    assert m.features == (MeetingFeature.OPEN,)
    assert m.unrecognised_types == ("BT",)


def test_a_format_id_missing_from_the_formats_list_is_a_warning_not_a_refusal():
    report = read_bmlt([bmlt_meeting(format_shared_id_list="17,999")], FORMATS, options=LONDON)
    assert report.meetings[0].features == (MeetingFeature.OPEN,)
    assert any("not in the formats list" in w for w in report.warnings)


def test_without_a_formats_list_keys_are_kept_and_the_import_warns():
    report = read_bmlt([bmlt_meeting(formats="O,B")], None, options=LONDON)
    assert report.meetings[0].unrecognised_types == ("B", "O")
    assert any("not resolved" in w for w in report.warnings)


def test_every_world_id_in_the_table_is_a_naws_code_with_a_feature():
    assert all(code.isupper() and features for code, features in WORLD_IDS.items())


def test_virtual_link_phone_and_access_details_are_kept_for_online_meetings():
    m = one(
        bmlt_meeting(
            venue_type="2",
            virtual_meeting_link="https://meet.example.org/j/1",
            virtual_meeting_additional_info="Meeting ID 1, passcode 2",
            phone_meeting_number="+44 20 0000 0000",
            location_street="",
            location_municipality="",
            location_postal_code_1="",
            location_nation="",
        )
    )
    assert m.conference_url == "https://meet.example.org/j/1"
    assert m.conference_phone == "+44 20 0000 0000"
    assert "Online: Meeting ID 1, passcode 2" in (m.location_notes or "")
    assert m.address is None


def test_a_virtual_meeting_has_no_address_even_when_one_is_published():
    m = one(bmlt_meeting(venue_type="2", virtual_meeting_link="https://meet.example.org/j/2"))
    assert m.address is None
    assert m.when_and_where().endswith("Online")


def test_placeholder_coordinates_and_personal_contacts_are_never_kept():
    raw = bmlt_meeting(
        venue_type="2",
        latitude="34.235918",
        longitude="-118.563659",
        virtual_meeting_link="https://meet.example.org/j/3",
        contact_name_1="Private Person",
        contact_phone_1="07700 900123",
        contact_email_1="private@example.org",
        email_contact="private@example.org",
    )
    dumped = one(raw).model_dump_json()
    for secret in ("Private Person", "07700 900123", "private@", "34.235918", "118.563659"):
        assert secret not in dumped


def test_the_address_is_one_line_without_repeating_a_city_that_is_its_province():
    m = one(
        bmlt_meeting(
            location_street="Pauline-Str. 6",
            location_municipality="Berlin",
            location_province="Berlin",
            location_postal_code_1="10249",
            location_nation="DE",
        )
    )
    assert m.address == "Pauline-Str. 6, Berlin, 10249, DE"


def test_the_meeting_id_is_the_servers_host_and_id_bigint():
    assert one(bmlt_meeting()).meeting_id == "bmlt:bmlt.example.org:501"
    aggregated = bmlt_meeting(root_server_id="12")
    assert one(aggregated).meeting_id == "bmlt:bmlt.example.org:12:501"


def test_the_same_id_twice_refuses_the_later_meeting():
    report = read_bmlt(
        [bmlt_meeting(), bmlt_meeting(meeting_name="Other")], FORMATS, options=LONDON
    )
    assert len(report.meetings) == 1
    assert report.problems[0].record == "meetings[1] (id_bigint 501)"
    assert report.problems[0].problems[0].code == "duplicate"


def test_an_unpublished_meeting_is_kept_as_inactive_with_a_warning():
    report = read_bmlt([bmlt_meeting(published="0")], FORMATS, options=LONDON)
    assert report.meetings[0].attendance is AttendanceMode.INACTIVE
    assert any("unpublished" in w for w in report.warnings)


def test_integers_instead_of_strings_are_accepted():
    raw: dict[str, Any] = bmlt_meeting()
    raw["id_bigint"], raw["weekday_tinyint"], raw["venue_type"] = 501, 3, 1
    assert one(raw).slots[0].day is Weekday.TUESDAY


# --- time zones -------------------------------------------------------------------------


def test_the_meetings_own_time_zone_wins():
    m = one(bmlt_meeting(time_zone="America/New_York"))
    assert m.timezone == "America/New_York"


def test_an_unknown_time_zone_refuses_the_meeting_without_quoting_it():
    report = read_bmlt([bmlt_meeting(time_zone="Mars/Olympus")], FORMATS, options=LONDON)
    assert report.problems[0].problems[0].location == "time_zone"
    assert "Mars" not in str(report.problems[0])


def test_no_zone_anywhere_is_one_warning_naming_the_source():
    report = read_bmlt(
        [bmlt_meeting(), bmlt_meeting(id_bigint="502")],
        FORMATS,
        options=ImportOptions(organisation="na", source="NA Northbridge"),
    )
    assert [m.timezone for m in report.meetings] == ["Europe/London"] * 2
    zone_warnings = [w for w in report.warnings if "time zone" in w]
    assert zone_warnings == [
        "NA Northbridge: 2 meeting(s) name no time zone and none was given "
        "(--timezone, or 'timezone' in the sources file); taken as Europe/London"
    ]


def test_strict_refuses_a_meeting_without_a_zone_and_keeps_one_with_a_zone():
    report = read_bmlt(
        [bmlt_meeting(), bmlt_meeting(id_bigint="502", time_zone="Europe/London")],
        FORMATS,
        options=ImportOptions(organisation="na", strict=True),
    )
    assert [m.meeting_id for m in report.meetings] == ["bmlt:bmlt.example.org:502"]
    assert report.problems[0].problems[0].code == "missing"


# --- the two answer shapes and hostile input ---------------------------------------------


def test_a_bare_array_and_a_meetings_formats_object_import_the_same():
    bare = read_bmlt_json(json.dumps([bmlt_meeting()]), formats=json.dumps(FORMATS), options=LONDON)
    wrapped = read_bmlt_json(
        json.dumps({"meetings": [bmlt_meeting()], "formats": FORMATS}), options=LONDON
    )
    assert bare.meetings == wrapped.meetings


def test_a_formats_only_answer_says_so():
    with pytest.raises(MeetingFeedError, match="formats-only"):
        read_bmlt_json(json.dumps({"formats": FORMATS}))


@pytest.mark.parametrize("text", ["{", '"x"', "{}", "[" * 100_000 + "]" * 100_000])
def test_an_answer_that_is_not_a_search_result_is_a_feed_error(text):
    with pytest.raises(MeetingFeedError):
        read_bmlt_json(text)


def test_entries_that_are_not_objects_or_carry_objects_are_refused_one_by_one():
    report = read_bmlt(
        ["x", None, bmlt_meeting(meeting_name={"a": 1}), bmlt_meeting(id_bigint="9")],  # type: ignore[dict-item]
        FORMATS,
        options=LONDON,
    )
    assert [p.record for p in report.problems] == [
        "meetings[0]",
        "meetings[1]",
        "meetings[2] (id_bigint 501)",
    ]
    assert [m.meeting_id for m in report.meetings] == ["bmlt:bmlt.example.org:9"]


_STRING = st.text(max_size=12)
_FIELD = st.sampled_from(
    [
        "id_bigint",
        "weekday_tinyint",
        "venue_type",
        "start_time",
        "duration_time",
        "time_zone",
        "formats",
        "format_shared_id_list",
        "meeting_name",
        "published",
    ]
)


@st.composite
def _search_result(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = bmlt_meeting(
        id_bigint=str(draw(st.integers(0, 10**6))),
        weekday_tinyint=str(draw(st.integers(1, 7))),
        venue_type=draw(st.sampled_from(["1", "2", "3", ""])),
        start_time=f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:00",
        duration_time=f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 59)):02d}:00",
        format_shared_id_list=",".join(draw(st.lists(st.sampled_from([f["id"] for f in FORMATS])))),
    )
    for field, value in draw(
        st.dictionaries(_FIELD, _STRING | st.integers() | st.none(), max_size=3)
    ).items():
        raw[field] = value
    return raw


@settings(max_examples=150, deadline=None)
@given(st.lists(_search_result(), max_size=6), st.booleans())
def test_any_search_result_imports_or_is_refused_entry_by_entry(meetings, wrapped):
    text = json.dumps({"meetings": meetings, "formats": FORMATS} if wrapped else meetings)
    report = read_bmlt_json(text, formats=json.dumps(FORMATS), options=LONDON)
    assert report.entries == len(meetings)
    assert len(report.meetings) + len(report.problems) == len(meetings)
    for problem in report.problems:
        assert problem.record.startswith("meetings[")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7), st.integers(0, 23), st.integers(0, 59), st.integers(1, 24 * 60 - 1))
def test_weekday_and_duration_round_trip_through_a_weekly_slot(day, hour, minute, minutes):
    raw = bmlt_meeting(
        weekday_tinyint=str(day),
        start_time=f"{hour:02d}:{minute:02d}:00",
        duration_time=f"{minutes // 60:02d}:{minutes % 60:02d}:00",
    )
    (slot,) = one(raw).slots
    # BMLT counts Sunday 1; 2026-03-01 is a Sunday.
    assert slot.day is Weekday.of(dt.date(2026, 3, day))
    assert slot.start == dt.time(hour, minute)
    assert slot.duration == dt.timedelta(minutes=minutes)


@given(st.times().map(lambda t: t.replace(second=0, microsecond=0)), st.integers(1, 24 * 60 - 1))
def test_bmlt_end_is_start_plus_duration_modulo_a_day(start, minutes):
    end = bmlt_end(start, f"{minutes // 60}:{minutes % 60:02d}", [])
    assert end is not None
    gap = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % (24 * 60)
    assert gap == minutes


# --- reading from a server ----------------------------------------------------------------


def test_a_root_server_url_becomes_a_search_with_used_formats():
    url = search_url("https://bmlt.example.org/main_server/")
    assert url == (
        "https://bmlt.example.org/main_server/client_interface/json/"
        "?switcher=GetSearchResults&get_used_formats=1"
    )
    filtered = search_url(
        "https://bmlt.example.org/main_server/client_interface/json/"
        "?switcher=GetSearchResults&services=7"
    )
    assert filtered.endswith("?switcher=GetSearchResults&services=7&get_used_formats=1")


def _client(handler) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(transport=httpx.MockTransport(handler), timeout=5.0)


def test_fetch_reads_the_search_and_its_formats_with_the_callers_client():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"meetings": [bmlt_meeting()], "formats": FORMATS})

    with _client(handler) as client:
        report = fetch_bmlt("https://bmlt.example.org/main_server", client, options=LONDON)
    assert len(seen) == 1 and "get_used_formats=1" in seen[0]
    assert report.meetings[0].features == (MeetingFeature.NEWCOMER, MeetingFeature.OPEN)


def test_fetch_asks_for_get_formats_when_the_server_answers_a_bare_array():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("switcher") == "GetFormats":
            return httpx.Response(200, json=FORMATS)
        return httpx.Response(200, json=[bmlt_meeting()])

    with _client(handler) as client:
        report = fetch_bmlt("https://bmlt.example.org/main_server", client, options=LONDON)
    assert report.meetings[0].features == (MeetingFeature.NEWCOMER, MeetingFeature.OPEN)


def test_fetch_stops_at_the_size_limit():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" + b" " * 5000 + b"]")

    small = net.Limits(max_bytes=1000)
    with _client(handler) as client, pytest.raises(net.ResponseTooLarge):
        fetch_bmlt("https://bmlt.example.org/x", client, limits=small)


def test_fetch_follows_a_redirect_on_the_same_origin_only():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/old"):
            return httpx.Response(
                301, headers={"location": "/new/client_interface/json/?switcher=GetSearchResults"}
            )
        if request.url.host == "bmlt.example.org":
            return httpx.Response(200, json={"meetings": [bmlt_meeting()], "formats": FORMATS})
        raise AssertionError("left the origin")

    with _client(handler) as client:
        assert fetch_bmlt("https://bmlt.example.org/old", client, options=LONDON).meetings

    def elsewhere(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://evil.example.net/x"})

    with _client(elsewhere) as client, pytest.raises(net.RedirectRefused):
        fetch_bmlt("https://bmlt.example.org/old", client)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500),
        httpx.ConnectTimeout("slow"),
    ],
)
def test_a_server_error_or_timeout_is_a_transport_error(answer):
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    with _client(handler) as client, pytest.raises(TransportError):
        fetch_bmlt("https://bmlt.example.org/main_server", client)


def test_a_password_in_the_url_is_never_shown():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    url = "https://volunteer:s3cret@bmlt.example.org/main_server?api_key=k3y"
    with _client(handler) as client, pytest.raises(TransportError) as caught:
        fetch_bmlt(url, client)
    assert "s3cret" not in str(caught.value) and "k3y" not in str(caught.value)

    def ok(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"meetings": [bmlt_meeting()], "formats": FORMATS})

    with _client(ok) as client:
        report = fetch_bmlt(url, client, options=LONDON)
    assert "s3cret" not in report.source and "k3y" not in report.source
    assert all("s3cret" not in (m.source or "") for m in report.meetings)


def test_only_http_urls_are_fetched():
    with _client(lambda r: httpx.Response(200)) as client, pytest.raises(MeetingFeedError):
        fetch_bmlt("file:///etc/passwd", client)


# --- the reference answers (conformance) ----------------------------------------------------


@needs_bmlt
def test_the_berlin_answer_imports_every_meeting_with_venue_types_and_languages():
    assert BMLT is not None
    report = read_bmlt_file(
        BMLT / "GetSearchResults-full-berlin-de.json",
        formats_path=BMLT / "GetFormats-berlin-de.json",
        options=ImportOptions(organisation="na", timezone="Europe/Berlin"),
    )
    assert (report.entries, len(report.meetings), len(report.problems)) == (108, 108, 0)
    modes = [m.attendance for m in report.meetings]
    assert modes.count(AttendanceMode.IN_PERSON) == 85
    assert modes.count(AttendanceMode.ONLINE) == 23
    online = [m for m in report.meetings if m.attendance is AttendanceMode.ONLINE]
    assert all(m.conference_url and m.address is None for m in online)
    by_id = {m.meeting_id: m for m in report.meetings}
    steps = by_id["bmlt:narcotics-anonymous.de:11005"]  # weekday "1", format "en"
    assert steps.slots[0].day is Weekday.SUNDAY
    assert steps.languages == ("en",)
    # Meeting 10746 names format id 218, which this formats file lacks.
    assert any("10746" in w and "formats list" in w for w in report.warnings)


@needs_bmlt
def test_the_new_york_answer_with_used_formats_and_restricted_fields_imports():
    assert BMLT is not None
    report = read_bmlt_file(
        BMLT / "GetSearchResults-with-used-formats-ny.json",
        options=ImportOptions(organisation="na", timezone="America/New_York"),
    )
    assert (len(report.meetings), len(report.problems)) == (53, 0)
    assert {m.slots[0].day for m in report.meetings} == {Weekday.MONDAY}  # weekdays=2
    first = report.meetings[0]
    assert first.meeting_id == "bmlt:2566"
    assert MeetingFeature.OPEN in first.features  # key "O" → world id OPEN


@needs_bmlt
def test_the_reference_answers_without_a_zone_warn_once_naming_the_file():
    assert BMLT is not None
    report = read_bmlt_file(
        BMLT / "GetSearchResults-full-berlin-de.json", options=ImportOptions(organisation="na")
    )
    assert [w for w in report.warnings if "time zone" in w] == [
        "GetSearchResults-full-berlin-de.json: 108 meeting(s) name no time zone and none was "
        "given (--timezone, or 'timezone' in the sources file); taken as Europe/London"
    ]


def test_reading_a_missing_file_names_it():
    with pytest.raises(MeetingFeedError, match="absent.json"):
        read_bmlt_file(Path("/nonexistent/absent.json"))


# --- the command ------------------------------------------------------------------------

EXAMPLE = Path(__file__).parents[2] / "examples" / "meetings" / "na-southbridge-bmlt.json"


def _run(*argv: str) -> tuple[int, str, str]:
    import io

    from fama_adapters.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_command_imports_a_bmlt_answer_and_names_the_source_without_a_zone(tmp_path):
    code, out, _ = _run(
        "meetings",
        "import",
        str(EXAMPLE),
        "--format",
        "bmlt",
        "--organisation",
        "na",
        "--out",
        str(tmp_path / "dir.json"),
    )
    assert code == 0
    assert "4 of 4 meetings imported" in out
    assert "na-southbridge-bmlt.json: 4 meeting(s) name no time zone" in out
    saved = json.loads((tmp_path / "dir.json").read_text())["meetings"]
    assert {m["attendance"] for m in saved} == {"in_person", "hybrid", "online"}


def test_the_command_with_a_zone_does_not_warn():
    code, out, _ = _run(
        "meetings", "import", str(EXAMPLE), "--format", "bmlt", "--timezone", "Europe/London"
    )
    assert code == 0 and "time zone" not in out


def test_the_command_with_strict_and_no_zone_refuses_each_meeting_and_exits_1():
    code, out, _ = _run("meetings", "import", str(EXAMPLE), "--format", "bmlt", "--strict")
    assert code == 1
    assert out.count("time_zone: no time zone in the feed and none given") == 4


def test_the_command_reads_a_saved_get_formats_beside_a_bare_array(tmp_path):
    data = json.loads(EXAMPLE.read_text())
    (tmp_path / "search.json").write_text(json.dumps(data["meetings"]))
    (tmp_path / "formats.json").write_text(json.dumps(data["formats"]))
    code, out, _ = _run(
        "meetings",
        "import",
        str(tmp_path / "search.json"),
        "--format",
        "bmlt",
        "--formats-file",
        str(tmp_path / "formats.json"),
        "--timezone",
        "Europe/London",
        "--out",
        str(tmp_path / "dir.json"),
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["warnings"] == []
    saved = json.loads((tmp_path / "dir.json").read_text())["meetings"]
    assert "newcomer" in saved[0]["features"]
