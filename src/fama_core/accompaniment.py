"""Peer accompaniment: the volunteer register and pairing a client with a volunteer.

The guide's appendix 1 offers three ways to have someone go with a nervous
client to a first meeting: an established client of the service employed as a
volunteer; a recovery champion who lists group members willing to go and
pairs each client with "an appropriate group member"; or a peer support
programme. :class:`Volunteer` records who (by the host's key only: no names or
telephone numbers), which of those routes, which organisations they attend
and when they are free. :func:`candidates` ranks volunteers for one meeting
occurrence with reasons; :func:`arrange` records the pairing as the existing
:class:`~fama_core.events.AccompanimentArranged` workflow event.

What is "appropriate" (fama's decision, ``docs/decisions.md``): a group
member goes only to meetings of an organisation they attend; an established
client, recovery champion or peer-programme volunteer may go to any, but one
who attends the meeting's organisation ranks first. The volunteer must be
free for the whole meeting, not already booked then, and, for a client who
asked for a women's meeting, a volunteer who accompanies to women's meetings.
An established client or a group member is offered only when the register
records their consistent history of attending (``attends_consistently``), and
the arrangement carries it (``volunteer_attends_consistently``), as the
workflow requires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import AwareDatetime, Field

from fama_core.codes import AttendanceMode, VolunteerKind
from fama_core.directory import Meeting, MeetingFeature, TimeZoneName, Weekday, zone
from fama_core.errors import FamaError
from fama_core.events import AccompanimentArranged
from fama_core.matching import Occurrence, Reason, ReasonCode, TimeWindow
from fama_core.models import AccompanimentArrangement, FamaModel, Identifier, OrganisationCode

__all__ = [
    "Booking",
    "Candidate",
    "NoVolunteerAvailable",
    "Volunteer",
    "VolunteerRegister",
    "arrange",
    "candidates",
]


class Volunteer(FamaModel):
    """Someone willing to accompany clients to a first meeting (appendix 1)."""

    volunteer_id: Identifier = Field(description="The host's key; no name is stored.")
    kind: VolunteerKind = Field(description="Which route of appendix 1 they come through.")
    organisations: tuple[OrganisationCode, ...] = Field(
        description="Organisations whose meetings they attend."
    )
    timezone: TimeZoneName = "Europe/London"
    availability: tuple[TimeWindow, ...] = Field(description="Weekly windows when free.")
    online: bool = Field(default=False, description="Will also join a client online.")
    womens_meetings: bool = Field(
        default=False, description="Attends women's meetings, so can accompany to one."
    )
    attends_consistently: bool | None = Field(
        default=None,
        description=(
            "Has a consistent history of attending mutual aid meetings (appendix 1). An "
            "established client or a group member is offered only when this is true."
        ),
    )
    active: bool = True


class Booking(FamaModel):
    """A volunteer already arranged for a time (so not offered twice at once)."""

    volunteer_id: Identifier
    start: AwareDatetime
    end: AwareDatetime


class Candidate(FamaModel):
    """A volunteer who could accompany the client, with the reasons."""

    volunteer: Volunteer
    score: int
    reasons: tuple[Reason, ...]


class NoVolunteerAvailable(FamaError):
    """No volunteer in the register can accompany this occurrence."""

    def __init__(self, *, meeting_id: str, reasons: dict[str, tuple[str, ...]]) -> None:
        self.meeting_id = meeting_id
        self.reasons = reasons
        super().__init__(f"no volunteer can accompany meeting {meeting_id}")


class VolunteerRegister:
    """The service's volunteers by id, with the bookings already made."""

    def __init__(
        self, volunteers: Iterable[Volunteer] = (), bookings: Iterable[Booking] = ()
    ) -> None:
        self.volunteers: dict[str, Volunteer] = {}
        for v in volunteers:
            if v.volunteer_id in self.volunteers:
                raise FamaError(f"volunteer {v.volunteer_id} is listed twice")
            self.volunteers[v.volunteer_id] = v
        self.bookings: list[Booking] = list(bookings)

    def book(self, booking: Booking) -> None:
        """Record that a volunteer is taken for a time."""
        self.bookings.append(booking)


def _free(volunteer: Volunteer, start: dt.datetime, end: dt.datetime) -> bool:
    tz = zone(volunteer.timezone)
    local_start = start.astimezone(tz)
    for offset in (-1, 0):
        day = local_start.date() + dt.timedelta(days=offset)
        for window in volunteer.availability:
            if window.day != Weekday.of(day):
                continue
            ws, we = window.on(day, volunteer.timezone)
            if ws <= start and end <= we:
                return True
    return False


_MUST_ATTEND = frozenset({VolunteerKind.ESTABLISHED_CLIENT, VolunteerKind.GROUP_MEMBER})
"""Appendix 1: an established client or a group member has a consistent history of attending."""


def _judge(
    volunteer: Volunteer,
    meeting: Meeting,
    occurrence: Occurrence,
    bookings: Iterable[Booking],
) -> tuple[int, list[Reason], list[str]]:
    """Score, reasons for, and reasons against one volunteer."""
    against: list[str] = []
    reasons: list[Reason] = []
    score = 100
    if not volunteer.active:
        against.append("not active")
    attends = meeting.organisation in volunteer.organisations
    if attends:
        score += 20
        reasons.append(
            Reason(code=ReasonCode.ORGANISATION, text=f"attends {meeting.organisation} meetings")
        )
    elif volunteer.kind is VolunteerKind.GROUP_MEMBER:
        against.append(f"a group member of other organisations, not {meeting.organisation}")
    if volunteer.kind in _MUST_ATTEND and volunteer.attends_consistently is not True:
        against.append(
            "a consistent history of attending mutual aid meetings is not recorded"
            if volunteer.attends_consistently is None
            else "recorded as not attending mutual aid meetings consistently"
        )
    if occurrence.mode is AttendanceMode.ONLINE and not volunteer.online:
        against.append("does not accompany online")
    if meeting.has(MeetingFeature.WOMEN) and not volunteer.womens_meetings:
        against.append("does not attend women's meetings")
    if not _free(volunteer, occurrence.start, occurrence.end):
        against.append("not free then")
    else:
        reasons.append(Reason(code=ReasonCode.FITS, text="free then"))
    if any(
        b.volunteer_id == volunteer.volunteer_id
        and b.start < occurrence.end
        and occurrence.start < b.end
        for b in bookings
    ):
        against.append("already accompanying someone then")
    if volunteer.kind is VolunteerKind.ESTABLISHED_CLIENT:
        score += 5  # the guide's first option: shared experience of this service
    return score, reasons, against


def candidates(
    register: VolunteerRegister, meeting: Meeting, occurrence: Occurrence
) -> tuple[list[Candidate], dict[str, tuple[str, ...]]]:
    """Volunteers who can accompany ``occurrence`` of ``meeting``, best first.

    Returns ``(candidates, refused)``: ``refused`` maps each other
    volunteer's id to the reasons they cannot go.
    """
    found: list[Candidate] = []
    refused: dict[str, tuple[str, ...]] = {}
    for volunteer in register.volunteers.values():
        score, reasons, against = _judge(volunteer, meeting, occurrence, register.bookings)
        if against:
            refused[volunteer.volunteer_id] = tuple(against)
        else:
            found.append(Candidate(volunteer=volunteer, score=score, reasons=tuple(reasons)))
    found.sort(key=lambda c: (-c.score, c.volunteer.volunteer_id))
    return found, refused


def arrange(
    register: VolunteerRegister,
    meeting: Meeting,
    occurrence: Occurrence,
    *,
    event_id: str,
    client_id: str,
    episode_id: str,
    keyworker_id: str,
    occurred_on: dt.date,
    recorded_at: dt.datetime,
    arrangement_id: str,
    commitment_id: str | None = None,
    volunteer_id: str | None = None,
) -> AccompanimentArranged:
    """Pair the client with the best (or the named) volunteer and return the event.

    The booking is added to ``register`` so the volunteer is not offered for
    the same time again. The event still has to be applied by the workflow
    (:func:`fama_core.workflow.apply`), which checks it fits the episode.
    Raises :class:`NoVolunteerAvailable` when nobody (or not the named
    volunteer) can go.
    """
    found, refused = candidates(register, meeting, occurrence)
    if volunteer_id is not None:
        found = [c for c in found if c.volunteer.volunteer_id == volunteer_id]
    if not found:
        raise NoVolunteerAvailable(meeting_id=meeting.meeting_id, reasons=refused)
    chosen = found[0].volunteer
    register.book(
        Booking(volunteer_id=chosen.volunteer_id, start=occurrence.start, end=occurrence.end)
    )
    return AccompanimentArranged(
        event_id=event_id,
        client_id=client_id,
        episode_id=episode_id,
        keyworker_id=keyworker_id,
        occurred_on=occurred_on,
        recorded_at=recorded_at,
        arrangement=AccompanimentArrangement(
            arrangement_id=arrangement_id,
            volunteer_id=chosen.volunteer_id,
            volunteer_kind=chosen.kind,
            meeting=meeting.ref(),
            date=occurrence.start.date(),
            commitment_id=commitment_id,
            volunteer_attends_consistently=chosen.attends_consistently,
        ),
    )
