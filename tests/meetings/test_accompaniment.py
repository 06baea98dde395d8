"""Peer accompaniment: the volunteer register, pairing, and the workflow event it records."""

from __future__ import annotations

import datetime as dt

import pytest

from fama_core.accompaniment import (
    Booking,
    NoVolunteerAvailable,
    Volunteer,
    VolunteerRegister,
    arrange,
    candidates,
)
from fama_core.builders import JourneyBuilder
from fama_core.codes import AttendanceMode, VolunteerKind
from fama_core.directory import MeetingFeature, Weekday
from fama_core.errors import TransitionRefused
from fama_core.matching import Occurrence
from fama_core.models import MeetingRef
from fama_core.workflow import apply

from .factories import meeting, window

TUESDAY_EVENING = Occurrence(
    start=dt.datetime(2026, 3, 3, 19, 30, tzinfo=dt.UTC),
    end=dt.datetime(2026, 3, 3, 21, tzinfo=dt.UTC),
    mode=AttendanceMode.IN_PERSON,
)


def volunteer(vid: str, kind: VolunteerKind, orgs: tuple[str, ...] = ("aa",), **kw) -> Volunteer:
    attending = kind in (VolunteerKind.GROUP_MEMBER, VolunteerKind.ESTABLISHED_CLIENT)
    kw.setdefault("attends_consistently", True if attending else None)
    return Volunteer(
        volunteer_id=vid,
        kind=kind,
        organisations=orgs,
        availability=kw.pop("availability", (window(Weekday.TUESDAY, "18:00", "22:00"),)),
        **kw,
    )


def test_a_volunteer_who_attends_the_organisation_ranks_first():
    register = VolunteerRegister(
        [
            volunteer("champion", VolunteerKind.RECOVERY_CHAMPION, ("smart",)),
            volunteer("member", VolunteerKind.GROUP_MEMBER, ("aa",)),
        ]
    )
    found, refused = candidates(register, meeting(), TUESDAY_EVENING)
    assert [c.volunteer.volunteer_id for c in found] == ["member", "champion"]
    assert not refused


def test_a_group_member_goes_only_to_their_own_organisations_meetings():
    register = VolunteerRegister([volunteer("na-member", VolunteerKind.GROUP_MEMBER, ("na",))])
    found, refused = candidates(register, meeting(), TUESDAY_EVENING)
    assert not found and "not aa" in refused["na-member"][0]


def test_a_volunteer_must_be_free_for_the_whole_meeting():
    short = volunteer(
        "v",
        VolunteerKind.ESTABLISHED_CLIENT,
        availability=(window(Weekday.TUESDAY, "19:00", "20:30"),),
    )
    _, refused = candidates(VolunteerRegister([short]), meeting(), TUESDAY_EVENING)
    assert refused["v"] == ("not free then",)


def test_womens_and_online_meetings_need_a_volunteer_who_goes_to_them():
    register = VolunteerRegister([volunteer("v", VolunteerKind.RECOVERY_CHAMPION)])
    women = meeting(features=(MeetingFeature.WOMEN,))
    online = TUESDAY_EVENING.model_copy(update={"mode": AttendanceMode.ONLINE})
    assert candidates(register, women, TUESDAY_EVENING)[1]["v"] == (
        "does not attend women's meetings",
    )
    assert candidates(register, meeting(), online)[1]["v"] == ("does not accompany online",)


def test_a_booked_volunteer_is_not_offered_twice_for_one_time():
    register = VolunteerRegister(
        [volunteer("v", VolunteerKind.RECOVERY_CHAMPION)],
        [Booking(volunteer_id="v", start=TUESDAY_EVENING.start, end=TUESDAY_EVENING.end)],
    )
    assert candidates(register, meeting(), TUESDAY_EVENING)[1]["v"] == (
        "already accompanying someone then",
    )


def test_pairing_is_recorded_as_an_accompaniment_event_the_workflow_accepts():
    journey = (
        JourneyBuilder("c-1", start=dt.date(2026, 2, 23))
        .open()
        .session1()
        .session2(commit_to=MeetingRef(name="Tuesday Newcomers", organisation="aa"))
    )
    state = None
    for event in journey.events:
        state = apply(state, event)
    commitment = state.current.outstanding_commitment.commitment
    register = VolunteerRegister([volunteer("vol-7", VolunteerKind.ESTABLISHED_CLIENT)])
    event = arrange(
        register,
        meeting("tue"),
        TUESDAY_EVENING,
        event_id="c-1-pair",
        client_id="c-1",
        episode_id=journey.episode_id,
        keyworker_id="kw-1",
        occurred_on=journey.day,
        recorded_at=dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC),
        arrangement_id="a-1",
        commitment_id=commitment.commitment_id,
    )
    assert event.kind == "accompaniment_arranged"
    assert event.arrangement.volunteer_id == "vol-7"
    assert event.arrangement.meeting.meeting_id == "tue"
    assert event.arrangement.date == dt.date(2026, 3, 3)
    after = apply(state, event)
    assert len(after.current.accompaniments) == 1
    # The volunteer is now booked for that evening.
    with pytest.raises(NoVolunteerAvailable):
        arrange(
            register,
            meeting("tue"),
            TUESDAY_EVENING,
            event_id="x",
            client_id="c-2",
            episode_id="e",
            keyworker_id="k",
            occurred_on=journey.day,
            recorded_at=dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC),
            arrangement_id="a-2",
        )


def test_an_arrangement_for_an_unknown_commitment_is_refused_by_the_workflow():
    journey = JourneyBuilder("c-1", start=dt.date(2026, 2, 23)).open().session1()
    state = None
    for event in journey.events:
        state = apply(state, event)
    event = arrange(
        VolunteerRegister([volunteer("v", VolunteerKind.RECOVERY_CHAMPION)]),
        meeting(),
        TUESDAY_EVENING,
        event_id="p",
        client_id="c-1",
        episode_id=journey.episode_id,
        keyworker_id="kw-1",
        occurred_on=journey.day,
        recorded_at=dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC),
        arrangement_id="a-1",
        commitment_id="no-such-commitment",
    )
    with pytest.raises(TransitionRefused, match="supports_known_commitment"):
        apply(state, event)


def test_no_volunteer_error_carries_reasons_but_no_personal_data():
    register = VolunteerRegister([volunteer("v", VolunteerKind.GROUP_MEMBER, ("na",))])
    with pytest.raises(NoVolunteerAvailable) as info:
        arrange(
            register,
            meeting(),
            TUESDAY_EVENING,
            event_id="x",
            client_id="c",
            episode_id="e",
            keyworker_id="k",
            occurred_on=dt.date(2026, 3, 2),
            recorded_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            arrangement_id="a",
        )
    assert info.value.reasons == {"v": ("a group member of other organisations, not aa",)}
    assert "c" not in str(info.value).split()


@pytest.mark.parametrize("kind", [VolunteerKind.GROUP_MEMBER, VolunteerKind.ESTABLISHED_CLIENT])
@pytest.mark.parametrize("attends", [None, False])
def test_an_attending_volunteer_without_a_consistent_history_is_not_offered(kind, attends):
    register = VolunteerRegister([volunteer("v", kind, attends_consistently=attends)])
    found, refused = candidates(register, meeting(), TUESDAY_EVENING)
    assert not found
    assert any("consistent" in why for why in refused["v"])


@pytest.mark.parametrize("kind", [VolunteerKind.GROUP_MEMBER, VolunteerKind.ESTABLISHED_CLIENT])
def test_the_arrangement_carries_the_volunteers_consistent_attendance(kind):
    register = VolunteerRegister([volunteer("v", kind)])
    event = arrange(
        register,
        meeting(),
        TUESDAY_EVENING,
        event_id="e1",
        client_id="c1",
        episode_id="ep1",
        keyworker_id="kw",
        occurred_on=dt.date(2026, 3, 1),
        recorded_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        arrangement_id="a1",
    )
    assert event.arrangement.volunteer_attends_consistently is True


def test_a_champion_needs_no_recorded_attendance():
    register = VolunteerRegister([volunteer("champ", VolunteerKind.RECOVERY_CHAMPION)])
    found, _ = candidates(register, meeting(), TUESDAY_EVENING)
    assert [c.volunteer.volunteer_id for c in found] == ["champ"]
