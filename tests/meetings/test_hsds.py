"""Open Referral HSDS 3.0 / UK profile: out, validated against the published schemas, and back."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.meetings import ImportOptions
from fama_adapters.meetings.hsds import (
    directory_to_hsds,
    hsds_to_meetings,
    meeting_to_service,
    read_hsds_file,
)
from fama_core.codes import AttendanceMode
from fama_core.directory import MeetingFeature, Weekday

from .external import external
from .factories import meeting, slot, slot_strategy

OPENREFERRAL = external("openreferral")
needs_openreferral = pytest.mark.skipif(
    OPENREFERRAL is None, reason="reference folder shared/external/openreferral is absent"
)
ON = dt.date(2026, 7, 6)  # summer: London is UTC+1


def _venue_meeting(**update):  # type: ignore[no-untyped-def]
    base = meeting(
        "tuesday-hope",
        slots=(
            slot(Weekday.MONDAY, "19:00", "20:30"),
            slot(Weekday.THURSDAY, "19:00", "20:30"),
            slot(Weekday.SATURDAY, "10:00"),
        ),
        features=(MeetingFeature.OPEN, MeetingFeature.NEWCOMER),
        languages=("pl",),
    ).model_copy(
        update={
            "location": "St Luke's Centre",
            "address": "7 Vicarage Road, Newbridge NE2 3LS, UK",
            "postcode": "NE2 3LS",
            "summary": "Open meeting",
            "contact": "01632 960100",
        }
    )
    return base.model_copy(update=update)


def test_days_sharing_hours_are_one_weekly_schedule_with_rrule_days():
    service = meeting_to_service(_venue_meeting(), profile="uk", on=ON)
    rules = sorted((s["byday"], s["opens_at"], s.get("closes_at")) for s in service["schedules"])
    assert rules == [("MO,TH", "19:00", "20:30"), ("SA", "10:00", None)]
    assert all(s["freq"] == "WEEKLY" for s in service["schedules"])


def test_the_uk_profile_carries_no_offset_and_hsds_the_offset_on_the_date():
    uk = meeting_to_service(_venue_meeting(), profile="uk", on=ON)
    assert all("timezone" not in s for s in uk["schedules"])
    full = meeting_to_service(_venue_meeting(), profile="hsds", on=ON)
    assert {s["timezone"] for s in full["schedules"]} == {1.0}
    winter = meeting_to_service(_venue_meeting(), profile="hsds", on=dt.date(2026, 1, 5))
    assert {s["timezone"] for s in winter["schedules"]} == {0.0}


def test_the_address_goes_to_an_hsds_address_with_the_postcode_as_published():
    service = meeting_to_service(_venue_meeting(), on=ON)
    (at,) = service["service_at_locations"]
    (address,) = at["location"]["addresses"]
    assert (address["address_1"], address["city"], address["postal_code"], address["country"]) == (
        "7 Vicarage Road",
        "Newbridge",
        "NE2 3LS",
        "GB",
    )


def test_a_hybrid_meeting_has_a_venue_and_a_virtual_location_with_the_link():
    hybrid = _venue_meeting(
        attendance=AttendanceMode.HYBRID, conference_url="https://meet.example.org/x"
    )
    kinds = [
        a["location"]["location_type"]
        for a in meeting_to_service(hybrid, on=ON)["service_at_locations"]
    ]
    assert kinds == ["physical", "virtual"]


def _round_trip(meetings, profile):  # type: ignore[no-untyped-def]
    document = json.loads(json.dumps(directory_to_hsds(meetings, profile=profile, on=ON)))
    return hsds_to_meetings(document["contents"], options=ImportOptions(organisation="aa"))


_ZONES = st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Berlin"])
_MODES = st.sampled_from(list(AttendanceMode))


@settings(max_examples=80)
@given(
    st.lists(slot_strategy(), max_size=6, unique=True),
    _ZONES,
    _MODES,
    st.sampled_from(["uk", "hsds"]),
)
def test_a_round_trip_keeps_every_weekly_slot_zone_and_mode(slots, tz, mode, profile):
    link = (
        "https://meet.example.org/m"
        if mode in (AttendanceMode.ONLINE, AttendanceMode.HYBRID)
        else None
    )
    m = _venue_meeting(slots=tuple(slots), timezone=tz, attendance=mode, conference_url=link)
    report = _round_trip([m], profile)
    assert not report.problems, report.problems
    (back,) = report.meetings
    assert set(back.slots) == set(m.slots)
    assert (back.meeting_id, back.timezone, back.attendance) == (m.meeting_id, tz, mode)
    assert (back.features, back.languages) == (m.features, m.languages)
    assert back.postcode == ("NE2 3LS" if mode is not AttendanceMode.ONLINE else None)


def test_a_numeric_offset_alone_becomes_a_fixed_zone_with_a_warning():
    service = meeting_to_service(_venue_meeting(), profile="hsds", on=ON)
    service["attributes"] = []
    report = hsds_to_meetings([service])
    assert report.meetings[0].timezone == "Etc/GMT-1"
    assert any("cannot follow summer time" in w for w in report.warnings)


def test_a_uk_profile_service_without_zone_takes_the_sources_zone_or_warns():
    service = meeting_to_service(_venue_meeting(), profile="uk", on=ON)
    service["attributes"] = []
    given_zone = hsds_to_meetings([service], options=ImportOptions(timezone="Europe/London"))
    assert given_zone.meetings[0].timezone == "Europe/London" and not given_zone.warnings
    assumed = hsds_to_meetings([service])
    assert any("name no time zone" in w for w in assumed.warnings)


def test_bad_services_are_refused_one_by_one_naming_the_field():
    good = meeting_to_service(_venue_meeting(), on=ON)
    bad_day = json.loads(json.dumps(good))
    bad_day["schedules"][0]["byday"] = "MONDAY"
    bad_day["attributes"] = [
        a for a in bad_day["attributes"] if "meeting_id" not in a["taxonomy_term"]["code"]
    ]
    report = hsds_to_meetings(["x", bad_day, good])
    assert [p.record for p in report.problems] == ["services[0]", "services[1]"]
    assert report.problems[1].problems[0].location == "schedules[0].byday"
    assert len(report.meetings) == 1


def _validator(folder: str):  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (dev extra) not installed")
    assert OPENREFERRAL is not None
    schema = json.loads(
        (OPENREFERRAL / folder / "schema/compiled/service_with_definitions.json").read_text()
    )
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@needs_openreferral
@pytest.mark.parametrize(("folder", "profile"), [("hsds-3.0", "hsds"), ("uk-profile-3.0", "uk")])
def test_every_exported_service_validates_against_the_published_schema(folder, profile):
    validator = _validator(folder)
    meetings = [
        _venue_meeting(),
        _venue_meeting(
            meeting_id="online-one",
            attendance=AttendanceMode.ONLINE,
            conference_url="https://meet.example.org/o",
            address=None,
            postcode=None,
        ),
        _venue_meeting(
            meeting_id="hybrid-one",
            attendance=AttendanceMode.HYBRID,
            conference_url="https://meet.example.org/h",
        ),
        _venue_meeting(meeting_id="closed-one", attendance=AttendanceMode.INACTIVE, slots=()),
    ]
    for service in directory_to_hsds(meetings, profile=profile, on=ON)["contents"]:
        errors = sorted(validator.iter_errors(service), key=str)
        assert not errors, [e.message for e in errors]


@needs_openreferral
def test_the_specs_worked_schedule_example_reads_its_weekly_times_and_leaves_the_monthly_out():
    assert OPENREFERRAL is not None
    report = read_hsds_file(
        OPENREFERRAL / "hsds-3.0/examples/field-guidance-schedules/services.json",
        options=ImportOptions(organisation="smart"),
    )
    assert not report.problems
    (service,) = report.meetings
    assert {(s.day, s.start, s.end) for s in service.slots} == {
        (d, dt.time(h), dt.time(e))
        for d in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY)
        for h, e in ((9, 12), (15, 17))
    }
    assert any("not a weekly schedule" in w for w in report.warnings)


def test_the_export_command_writes_services_that_import_back(tmp_path):
    import io

    from fama_adapters.cli import main
    from fama_adapters.meetings.store import dump_directory

    (tmp_path / "dir.json").write_text(dump_directory([_venue_meeting()]), "utf-8")
    out = io.StringIO()
    code = main(
        ["meetings", "export", str(tmp_path / "dir.json"), "--out", str(tmp_path / "or.json")],
        stdout=out,
        stderr=io.StringIO(),
    )
    assert code == 0 and "wrote 1 services (openreferral-uk)" in out.getvalue()
    code = main(
        [
            "meetings",
            "import",
            str(tmp_path / "or.json"),
            "--format",
            "hsds",
            "--out",
            str(tmp_path / "back.json"),
        ],
        stdout=out,
        stderr=io.StringIO(),
    )
    assert code == 0
    saved = json.loads((tmp_path / "back.json").read_text())["meetings"]
    assert saved[0]["meeting_id"] == "tuesday-hope" and len(saved[0]["slots"]) == 3


def test_an_address_outside_the_uk_stays_whole_in_address_1():
    us = meeting("us-1", timezone="America/New_York").model_copy(
        update={"location": "Alano Club", "address": "123 Main Street, Anytown, CA, 98765, US"}
    )
    (at,) = meeting_to_service(us, on=ON)["service_at_locations"]
    (address,) = at["location"]["addresses"]
    assert (address["address_1"], address["city"], address["country"]) == (
        "123 Main Street, Anytown, CA, 98765, US",
        "",
        "",
    )
