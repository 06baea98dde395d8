"""Matching, on hand-built cases: availability, commitments, time zones, midnight, preferences."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from fama_core.codes import AttendanceMode, OrganisationApproach, OrganisationAudience
from fama_core.directory import MeetingFeature as F
from fama_core.directory import Weekday
from fama_core.matching import BusyPeriod, Preferences, ReasonCode, match_meetings

from .factories import availability, meeting, window

LONDON = dt.UTC  # GMT until 29 March 2026; London times below are UTC in March


def codes(result, meeting_id):
    return [r.code for r in result.reasons_for(meeting_id)]


def test_a_meeting_inside_a_free_window_is_chosen_with_its_date():
    result = match_meetings([meeting()], Preferences(), availability())
    (chosen,) = result.chosen
    assert chosen.next.start == dt.datetime(2026, 3, 3, 19, 30, tzinfo=LONDON)
    assert chosen.next.label() == "Tuesday 3 March, 19:30-21:00"
    assert ReasonCode.FITS in codes(result, "m1")


def test_a_meeting_that_overruns_the_window_is_excluded():
    result = match_meetings(
        [meeting()], Preferences(), availability(window(Weekday.TUESDAY, "17:00", "20:30"))
    )
    assert codes(result, "m1") == [ReasonCode.OUTSIDE_AVAILABILITY]


def test_a_meeting_clashing_with_another_commitment_is_excluded():
    busy = BusyPeriod(
        start=dt.datetime(2026, 3, 3, 20, 30, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 3, 22, tzinfo=dt.UTC),
        label="childcare",
    )
    result = match_meetings([meeting()], Preferences(), availability(busy=(busy,)))
    assert codes(result, "m1") == [ReasonCode.CLASHES]


def test_travel_time_is_kept_free_around_an_in_person_meeting():
    tight = availability(window(Weekday.TUESDAY, "19:15", "21:15"), travel_minutes=30)
    assert not match_meetings([meeting()], Preferences(), tight).chosen
    online = meeting(attendance=AttendanceMode.ONLINE)
    assert match_meetings([online], Preferences(), tight).chosen


def test_a_meeting_past_midnight_needs_a_window_past_midnight():
    owls = meeting("owls", day=Weekday.SATURDAY, start="23:30", end="00:30")
    to_midnight = availability(window(Weekday.SATURDAY, "22:00", "00:00"))
    past_midnight = availability(window(Weekday.SATURDAY, "22:00", "01:00"))
    assert codes(match_meetings([owls], Preferences(), to_midnight), "owls") == [
        ReasonCode.OUTSIDE_AVAILABILITY
    ]
    (chosen,) = match_meetings([owls], Preferences(), past_midnight).chosen
    assert chosen.next.end == dt.datetime(2026, 3, 8, 0, 30, tzinfo=LONDON)
    assert chosen.next.label() == "Saturday 7 March, 23:30-00:30 (next day)"


def test_a_meeting_just_after_midnight_fits_the_previous_evenings_window():
    early = meeting("early", day=Weekday.SUNDAY, start="00:15", end="01:00")
    result = match_meetings(
        [early], Preferences(), availability(window(Weekday.SATURDAY, "21:00", "02:00"))
    )
    (chosen,) = result.chosen
    assert chosen.next.start == dt.datetime(2026, 3, 8, 0, 15, tzinfo=LONDON)


def test_an_online_meeting_elsewhere_is_placed_in_the_clients_time():
    # 14:00 in New York is 19:00 in London while both keep winter time (week of 2 March)...
    ny = meeting(
        "ny",
        day=Weekday.TUESDAY,
        start="14:00",
        end="15:00",
        timezone="America/New_York",
        attendance=AttendanceMode.ONLINE,
    )
    evening = window(Weekday.TUESDAY, "18:30", "20:00")
    (chosen,) = match_meetings([ny], Preferences(), availability(evening)).chosen
    assert chosen.next.start.astimezone(dt.UTC) == dt.datetime(2026, 3, 3, 19, tzinfo=dt.UTC)
    assert str(chosen.next.start.tzinfo) == "Europe/London"
    # ...but 18:00 once the US clocks go forward on 8 March and the UK's have not.
    later = availability(evening, week_starts=dt.date(2026, 3, 9))
    assert codes(match_meetings([ny], Preferences(), later), "ny") == [
        ReasonCode.OUTSIDE_AVAILABILITY
    ]


def test_a_client_in_another_zone_sees_a_london_meeting_in_their_own_time():
    result = match_meetings(
        [meeting()],
        Preferences(),
        availability(window(Weekday.TUESDAY, "14:00", "16:30"), timezone="America/New_York"),
    )
    (chosen,) = result.chosen
    assert (chosen.next.start.hour, chosen.next.start.minute) == (14, 30)


def test_a_meeting_across_the_uk_clock_change_keeps_its_local_time():
    sunday = meeting("sun", day=Weekday.SUNDAY, start="10:30", end="11:30")
    result = match_meetings(
        [sunday],
        Preferences(),
        availability(window(Weekday.SUNDAY, "10:00", "12:00"), week_starts=dt.date(2026, 3, 23)),
    )
    (chosen,) = result.chosen
    assert chosen.next.start.utcoffset() == dt.timedelta(hours=1)  # BST from 29 March
    assert chosen.next.start.hour == 10


def test_only_the_coming_week_after_the_session_counts():
    monday_lunch = meeting("lunch", day=Weekday.MONDAY, start="12:30", end="13:30")
    after_session = availability(
        window(Weekday.MONDAY, "12:00", "14:00"),
        not_before=dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC),
    )
    assert codes(match_meetings([monday_lunch], Preferences(), after_session), "lunch") == [
        ReasonCode.NOT_THIS_WEEK
    ]


def test_hard_preferences_exclude_with_every_reason():
    men = meeting("men", features=(F.CLOSED, F.MEN))
    prefs = Preferences(women_only=True, avoid=frozenset({F.MEN}), organisations=frozenset({"na"}))
    assert codes(match_meetings([men], prefs, availability()), "men") == [
        ReasonCode.ORGANISATION,
        ReasonCode.NOT_WOMEN_ONLY,
        ReasonCode.AVOIDED_FEATURE,
    ]


def test_a_secular_client_is_offered_smart_not_aa():
    result = match_meetings(
        [meeting("aa"), meeting("smart", organisation="smart")],
        Preferences(approach=OrganisationApproach.SECULAR),
        availability(),
    )
    assert [c.meeting.meeting_id for c in result.chosen] == ["smart"]
    assert codes(result, "aa") == [ReasonCode.APPROACH]


def test_family_groups_are_offered_only_to_families():
    al_anon = meeting("al-anon", organisation="al-anon")
    assert codes(match_meetings([al_anon], Preferences(), availability()), "al-anon") == [
        ReasonCode.AUDIENCE
    ]
    family = Preferences(audience=OrganisationAudience.FAMILIES_AND_FRIENDS)
    assert match_meetings([al_anon], family, availability()).chosen


def test_a_meeting_in_another_language_needs_a_client_who_speaks_it():
    polish = meeting("pl", languages=("pl",))
    assert codes(match_meetings([polish], Preferences(), availability()), "pl") == [
        ReasonCode.LANGUAGE
    ]
    assert match_meetings(
        [polish], Preferences(languages=frozenset({"pl", "en"})), availability()
    ).chosen


def test_step_free_access_is_required_in_person_but_not_online():
    needs = Preferences(needs=frozenset({F.WHEELCHAIR_ACCESS}))
    no_ramp = meeting("stairs")
    assert codes(match_meetings([no_ramp], needs, availability()), "stairs") == [
        ReasonCode.ACCESS_NEED
    ]
    hybrid = meeting("hybrid", attendance=AttendanceMode.HYBRID)
    (chosen,) = match_meetings([hybrid], needs, availability()).chosen
    assert chosen.next.mode is AttendanceMode.ONLINE


def test_inactive_by_appointment_and_wrong_mode_meetings_are_excluded():
    closed = meeting("closed", attendance=AttendanceMode.INACTIVE)
    appointment = meeting("appt", slots=())
    online = meeting("online", attendance=AttendanceMode.ONLINE)
    result = match_meetings(
        [closed, appointment, online],
        Preferences(modes=frozenset({AttendanceMode.IN_PERSON})),
        availability(),
    )
    assert not result.chosen
    assert codes(result, "closed") == [ReasonCode.INACTIVE]
    assert codes(result, "appt") == [ReasonCode.BY_APPOINTMENT]
    assert codes(result, "online") == [ReasonCode.MODE]


def test_a_first_meeting_ranks_open_newcomer_meetings_first_and_stale_listings_last():
    closed = meeting("closed", features=(F.CLOSED,), day=Weekday.MONDAY)
    newcomer = meeting("newcomer", features=(F.OPEN, F.NEWCOMER), day=Weekday.FRIDAY)
    stale = meeting("stale", features=(F.OPEN, F.NEWCOMER), last_verified=dt.date(2020, 1, 1))
    result = match_meetings([closed, stale, newcomer], Preferences(), availability())
    assert [c.meeting.meeting_id for c in result.chosen] == ["newcomer", "stale", "closed"]
    assert ReasonCode.STALE in codes(result, "stale")
    assert ReasonCode.CLOSED in codes(result, "closed")


def test_ties_go_to_the_earliest_meeting():
    a = meeting("later", day=Weekday.FRIDAY)
    b = meeting("sooner", day=Weekday.TUESDAY)
    assert [
        c.meeting.meeting_id for c in match_meetings([a, b], Preferences(), availability()).chosen
    ] == [
        "sooner",
        "later",
    ]


meetings_strategy = st.lists(
    st.tuples(
        st.sampled_from(list(Weekday)),
        st.integers(0, 23),
        st.sampled_from(["aa", "na", "smart", "al-anon"]),
        st.sampled_from(list(AttendanceMode)),
        st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata"]),
    ),
    max_size=25,
)


@settings(max_examples=60)
@given(meetings_strategy, st.integers(0, 23), st.integers(1, 12))
def test_every_meeting_is_chosen_or_excluded_exactly_once(items, from_hour, hours):
    meetings = [
        meeting(
            f"m{i}", day=d, start=f"{h:02d}:00", end=None, organisation=o, attendance=a, timezone=z
        )
        for i, (d, h, o, a, z) in enumerate(items)
    ]
    end_hour = (from_hour + hours) % 24
    windows = tuple(window(d, f"{from_hour:02d}:00", f"{end_hour:02d}:00") for d in Weekday)
    result = match_meetings(meetings, Preferences(), availability(*windows))
    ids = [c.meeting.meeting_id for c in result.chosen] + [
        x.meeting.meeting_id for x in result.excluded
    ]
    assert sorted(ids) == sorted(m.meeting_id for m in meetings)
    for chosen in result.chosen:
        first, last = availability(*windows).span()
        assert all(first <= o.start < last for o in chosen.occurrences)
        assert all(o.end - o.start == dt.timedelta(hours=1) for o in chosen.occurrences)
    assert all(x.reasons for x in result.excluded)
