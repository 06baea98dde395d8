"""What "fully engaged with the mutual aid group" means, declared as data in one place.

The guide repeats sessions 2 and 3 "as often as necessary until the client is
fully engaged with the mutual aid group OR decides not to attend at this time"
(PHE, *Facilitating access to mutual aid*, 2013, p. 6) but gives no test of
"fully engaged". Its session 3 (p. 11) names what engagement looks like: the
client continues to attend ("by now, the client should be committing to
attending further mutual aid meetings", step 5), and gets involved: "getting
actively involved in meetings and, where relevant, thinking about sponsorship"
(step 4), "swap telephone numbers with group members", "speak to people about
sponsorship" (step 5); hand-out 4 adds introducing yourself and helping to set
up or clear up.

fama turns that into an :class:`EngagementCriterion`: attended meetings on at
least ``min_attended_dates`` distinct dates, attendance found at at least
``min_reviews_with_attendance`` session-3 reviews, and at least
``min_involvement_signs`` sign of active involvement. The defaults (3, 2, 1) and
their reasons are in ``docs/decisions.md``; a provider may set its own with
:meth:`EngagementCriterion.from_mapping` and pass it to
:func:`fama_core.workflow.apply` / :func:`~fama_core.workflow.fold`.

:func:`assess_engagement` reads an episode and returns an
:class:`EngagementAssessment`: whether the criterion is ``met``, the
``evidence`` found, and what is ``missing``, each item naming the event that
would supply it. The workflow refuses ``engagement_confirmed`` with that list
when the criterion is not met, and keeps the evidence on the episode when it is.

>>> from fama_core.builders import JourneyBuilder
>>> from fama_core.workflow import fold
>>> b = JourneyBuilder("c-1").open().session1()
>>> b = b.session2(commit_to=b.meeting()).session3()
>>> result = assess_engagement(fold(b.events).current)
>>> result.met
False
>>> [m.item for m in result.missing]
['attended_dates', 'reviews_with_attendance', 'involvement']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NoReturn

from pydantic import Field

from fama_core.codes import (
    CommitmentOutcome,
    GoalKind,
    GoalStatus,
    InvolvementSign,
    SessionStage,
)
from fama_core.errors import FieldProblem, InvalidRecord
from fama_core.models import FamaModel

if TYPE_CHECKING:  # pragma: no cover - typing only; the state imports nothing from here
    from fama_core.models import JournalEntry
    from fama_core.state import CommitmentState, EpisodeState, GoalState, SessionSummary

__all__ = [
    "DEFAULT_ENGAGEMENT",
    "ENGAGEMENT_SOURCE",
    "GOAL_INVOLVEMENT",
    "EngagementAssessment",
    "EngagementCriterion",
    "EngagementEvidence",
    "MissingEvidence",
    "assess_engagement",
    "evidence_from",
    "judge",
]

ENGAGEMENT_SOURCE: Final = (
    "PHE, Facilitating access to mutual aid (2013): p. 6 'repeat stages 2 and 3 ... until the "
    "client is fully engaged with the mutual aid group'; p. 11 session 3 steps 3-5 (further "
    "meetings, getting actively involved, swapping telephone numbers, sponsorship); hand-out 4 "
    "(introduce yourself, help set up). Thresholds: fama's decision (docs/decisions.md)."
)
"""Where the criterion comes from, quoted in ``docs/workflow.md``."""

GOAL_INVOLVEMENT: Final[Mapping[GoalKind, InvolvementSign]] = {
    GoalKind.SWAP_TELEPHONE_NUMBERS: InvolvementSign.SWAPPED_NUMBERS,
    GoalKind.GET_ACTIVELY_INVOLVED: InvolvementSign.ACTIVELY_INVOLVED,
    GoalKind.SPEAK_ABOUT_SPONSORSHIP: InvolvementSign.SPOKE_ABOUT_SPONSORSHIP,
}
"""A goal of one of these kinds, reviewed as achieved, is that sign of involvement."""


class EngagementEvidence(FamaModel):
    """The evidence of engagement found in (or claimed from) an episode's record.

    Carried, optionally, by an ``engagement_confirmed`` event and kept on the
    episode when engagement is confirmed. Holds dates, session numbers and
    codes only: no free text.
    """

    attended_dates: tuple[dt.date, ...] = Field(
        default=(),
        description="Distinct dates of attended meetings (journal entries, kept commitments).",
    )
    reviews_with_attendance: tuple[int, ...] = Field(
        default=(),
        description="Numbers of the session-3 reviews at which attendance was found.",
    )
    involvement: tuple[InvolvementSign, ...] = Field(
        default=(), description="Signs of active involvement recorded."
    )


@dataclass(frozen=True, slots=True)
class MissingEvidence:
    """One part of the criterion not yet met, and what to record to meet it."""

    item: str
    """``attended_dates``, ``reviews_with_attendance`` or ``involvement``."""
    have: int
    need: int
    how: str
    """A plain sentence naming the event or field that would supply it."""

    def __str__(self) -> str:
        return f"{self.item}: {self.have} recorded, {self.need} needed; {self.how}"


@dataclass(frozen=True, slots=True)
class EngagementAssessment:
    """The result of :func:`assess_engagement`: ``met``, the ``evidence``, what is ``missing``."""

    met: bool
    evidence: EngagementEvidence
    missing: tuple[MissingEvidence, ...] = ()


_HOW: Final[Mapping[str, str]] = {
    "attended_dates": (
        "record each meeting attended as a journal_entry_recorded event with entry.attended "
        "true, or review a commitment as attended in session_2_held or session_3_held"
    ),
    "reviews_with_attendance": (
        "hold a session_3_held whose commitment_review.outcome is attended, or record an "
        "attended journal entry dated since the session before it"
    ),
    "involvement": (
        "record a journal entry with entry.involvement (or entry.contacts_made above 0), or "
        "review a goal of kind swap_telephone_numbers, get_actively_involved or "
        "speak_about_sponsorship as achieved"
    ),
}


@dataclass(frozen=True, slots=True)
class EngagementCriterion:
    """When a client counts as "fully engaged with the mutual aid group": data, not code.

    Every threshold must hold. ``involvement_signs`` lists the signs that count.
    The default instance is :data:`DEFAULT_ENGAGEMENT`; ``docs/decisions.md``
    gives the reasons for its numbers.
    """

    min_attended_dates: int = 3
    """Attended meetings on at least this many distinct dates ("several": three)."""
    min_reviews_with_attendance: int = 2
    """Attendance found at at least this many session-3 reviews (the guide repeats 2 and 3)."""
    min_involvement_signs: int = 1
    """At least this many distinct signs of active involvement."""
    involvement_signs: frozenset[InvolvementSign] = field(
        default_factory=lambda: frozenset(InvolvementSign)
    )
    """Which signs count; by default every :class:`~fama_core.codes.InvolvementSign`."""
    name: str = "fama-default"
    """A provider's name for its criterion, shown in reports."""
    source: str = ENGAGEMENT_SOURCE

    def __post_init__(self) -> None:
        problems = _criterion_problems(
            self.min_attended_dates,
            self.min_reviews_with_attendance,
            self.min_involvement_signs,
            len(self.involvement_signs),
        )
        if problems:
            raise InvalidRecord(record="engagement criterion", kind="criterion", problems=problems)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EngagementCriterion:
        """Read a provider's criterion from configuration (a JSON or TOML table).

        Keys: ``min_attended_dates``, ``min_reviews_with_attendance``,
        ``min_involvement_signs`` (whole numbers), ``involvement_signs`` (a list
        of :class:`~fama_core.codes.InvolvementSign` codes) and ``name``; any
        left out keep their default. Raises
        :class:`~fama_core.errors.InvalidRecord` naming each bad key.
        """
        known = {
            "min_attended_dates",
            "min_reviews_with_attendance",
            "min_involvement_signs",
            "involvement_signs",
            "name",
        }
        problems = [
            FieldProblem(str(k), "unknown_key", "not a setting of the engagement criterion")
            for k in data
            if k not in known
        ]
        values: dict[str, Any] = {}
        for key in ("min_attended_dates", "min_reviews_with_attendance", "min_involvement_signs"):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int):
                    problems.append(FieldProblem(key, "not_a_whole_number", "must be a number"))
                else:
                    values[key] = value
        if "involvement_signs" in data:
            raw = data["involvement_signs"]
            codes = {s.value for s in InvolvementSign}
            if not isinstance(raw, list | tuple) or not all(
                isinstance(x, str) and x in codes for x in raw
            ):
                problems.append(
                    FieldProblem(
                        "involvement_signs",
                        "unknown_code",
                        "must be a list of: " + ", ".join(sorted(codes)),
                    )
                )
            else:
                values["involvement_signs"] = frozenset(InvolvementSign(x) for x in raw)
        if "name" in data:
            name = data["name"]
            if not isinstance(name, str) or not 1 <= len(name) <= 64:
                problems.append(FieldProblem("name", "bad_name", "must be 1 to 64 characters"))
            else:
                values["name"] = name
        default = cls()
        merged = {**default.to_mapping(), **values}
        named = {p.location for p in problems}
        problems += [
            p
            for p in _criterion_problems(
                merged["min_attended_dates"],
                merged["min_reviews_with_attendance"],
                merged["min_involvement_signs"],
                len(values.get("involvement_signs", default.involvement_signs)),
            )
            if p.location not in named
        ]
        if problems:
            raise InvalidRecord(record="engagement criterion", kind="criterion", problems=problems)
        return cls(**values)

    def met_by(self, evidence: EngagementEvidence) -> bool:
        """Whether ``evidence`` meets every threshold (:func:`judge` says what is missing)."""
        return (
            len(evidence.attended_dates) >= self.min_attended_dates
            and len(evidence.reviews_with_attendance) >= self.min_reviews_with_attendance
            and len(self.involvement_signs.intersection(evidence.involvement))
            >= self.min_involvement_signs
        )

    def to_mapping(self) -> dict[str, Any]:
        """The criterion as configuration (the inverse of :meth:`from_mapping`)."""
        return {
            "name": self.name,
            "min_attended_dates": self.min_attended_dates,
            "min_reviews_with_attendance": self.min_reviews_with_attendance,
            "min_involvement_signs": self.min_involvement_signs,
            "involvement_signs": sorted(s.value for s in self.involvement_signs),
        }


def _criterion_problems(dates: int, reviews: int, signs: int, available: int) -> list[FieldProblem]:
    problems = []
    # Engagement without any attendance, or confirmed before any session 3 has
    # asked about the client's experience, is not what the guide describes.
    if not 1 <= dates <= 1000:
        problems.append(FieldProblem("min_attended_dates", "out_of_range", "must be 1 to 1000"))
    if not 1 <= reviews <= 100:
        problems.append(
            FieldProblem("min_reviews_with_attendance", "out_of_range", "must be 1 to 100")
        )
    if not 0 <= signs <= available:
        problems.append(
            FieldProblem(
                "min_involvement_signs",
                "out_of_range",
                "must be 0 to the number of involvement_signs that count",
            )
        )
    return problems


DEFAULT_ENGAGEMENT: Final = EngagementCriterion()
"""fama's default criterion: 3 distinct dates, 2 session-3 reviews with attendance, 1 sign."""


def evidence_from(
    sessions: Iterable[SessionSummary],
    journal: Iterable[JournalEntry],
    commitments: Iterable[CommitmentState],
    goals: Iterable[GoalState],
    *,
    as_of: dt.date | None = None,
) -> EngagementEvidence:
    """Collect the evidence of engagement from the parts of an episode.

    Only what happened on or before ``as_of`` counts (a journal entry dated
    later is a plan, not attendance).
    """
    # Plain loops and module constants: this runs at every engagement_confirmed of a fold.
    attended: set[dt.date] = set()
    kept_at: set[int] = set()
    for c in commitments:
        if c.outcome is _ATTENDED:
            if as_of is None or c.commitment.planned_date <= as_of:
                attended.add(c.commitment.planned_date)
            if c.reviewed_in_session is not None:
                kept_at.add(c.reviewed_in_session)
    signs: set[InvolvementSign] = set()
    journal_dates: list[dt.date] = []
    for entry in journal:
        if not entry.attended or (as_of is not None and entry.date > as_of):
            continue
        attended.add(entry.date)
        journal_dates.append(entry.date)
        if entry.contacts_made:
            signs.add(_SWAPPED_NUMBERS)
        if entry.involvement:
            signs.update(entry.involvement)
    for g in goals:
        if g.status is _ACHIEVED:
            sign = GOAL_INVOLVEMENT.get(g.goal.kind)
            if sign is not None:
                signs.add(sign)
    reviews: list[int] = []
    previous: dt.date | None = None
    for s in sessions:
        if s.stage is _REVIEW:
            found = s.number in kept_at
            if not found:
                for d in journal_dates:
                    if (previous is None or previous < d) and d <= s.held_on:
                        found = True
                        break
            if found:
                reviews.append(s.number)
        previous = s.held_on
    return _evidence(
        tuple(sorted(attended)),
        tuple(reviews),
        _involvement(frozenset(signs)) if signs else (),
    )


def _evidence(
    dates: tuple[dt.date, ...], reviews: tuple[int, ...], involvement: tuple[InvolvementSign, ...]
) -> EngagementEvidence:
    """The model ``EngagementEvidence`` validation gives for these values, built directly.

    Every value comes from records fama has validated, in the declared types, so
    validating them again would change nothing (``tests/test_keep_states.py`` holds
    the two equal). Built this way an engaged state keeps one tracked object
    fewer: the names of the fields set are one shared, read-only set
    (:class:`_SharedNames`; pydantic copies it before changing it, and the model
    is frozen), not a 216-byte set each (docs/decisions.md, K1).
    """
    made = _new_model(EngagementEvidence)
    _set(
        made,
        "__dict__",
        {"attended_dates": dates, "reviews_with_attendance": reviews, "involvement": involvement},
    )
    _set(made, "__pydantic_fields_set__", _EVIDENCE_FIELDS_SET)
    _set(made, "__pydantic_extra__", None)
    _set(made, "__pydantic_private__", None)
    return made


def _involvement(signs: frozenset[InvolvementSign]) -> tuple[InvolvementSign, ...]:
    """The signs in declaration order, one shared tuple for each distinct set of signs.

    The signs are enumeration members (objects the collector tracks), so a tuple of
    them stays tracked; there are only as many such tuples as subsets of the signs,
    and sharing them keeps one tracked object per engaged state out of every
    collection (docs/decisions.md, K1).
    """
    found = _INVOLVEMENT.get(signs)
    if found is None:
        found = _INVOLVEMENT[signs] = tuple([s for s in _SIGNS if s in signs])
    return found


_new_model: Final = object.__new__
_set: Final = object.__setattr__


class _SharedNames(set[str]):
    """A set of field names that many models share as their ``__pydantic_fields_set__``.

    Read-only, so that changing one model's ``model_fields_set`` in place (which
    pydantic never does: it copies the set first) fails instead of changing every
    model's; copied, deep-copied and pickled as a plain ``set``, as a validated
    model's is.
    """

    __slots__ = ()

    def _refuse(self, *args: object) -> NoReturn:
        raise TypeError("this fields set is shared by many models: copy it to change it")

    add = discard = remove = pop = clear = _refuse
    update = difference_update = intersection_update = _refuse
    symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: object) -> set[str]:
        return set(self)

    def __reduce__(self) -> tuple[type[set[str]], tuple[list[str]]]:
        return (set, (list(self),))


_EVIDENCE_FIELDS_SET: Final = _SharedNames(EngagementEvidence.model_fields)
_INVOLVEMENT: Final[dict[frozenset[InvolvementSign], tuple[InvolvementSign, ...]]] = {}
_ATTENDED: Final = CommitmentOutcome.ATTENDED
_SWAPPED_NUMBERS: Final = InvolvementSign.SWAPPED_NUMBERS
_ACHIEVED: Final = GoalStatus.ACHIEVED
_REVIEW: Final = SessionStage.REVIEW
_SIGNS: Final = tuple(InvolvementSign)


def judge(evidence: EngagementEvidence, criterion: EngagementCriterion) -> EngagementAssessment:
    """Compare evidence with a criterion: met, or what is missing and how to record it."""
    if criterion.met_by(evidence):
        return EngagementAssessment(True, evidence)  # met: nothing missing to word
    counts = (
        ("attended_dates", len(evidence.attended_dates), criterion.min_attended_dates),
        (
            "reviews_with_attendance",
            len(evidence.reviews_with_attendance),
            criterion.min_reviews_with_attendance,
        ),
        (
            "involvement",
            len(set(evidence.involvement) & criterion.involvement_signs),
            criterion.min_involvement_signs,
        ),
    )
    missing = tuple(
        MissingEvidence(item, have, need, _HOW[item]) for item, have, need in counts if have < need
    )
    return EngagementAssessment(not missing, evidence, missing)


def assess_engagement(
    episode: EpisodeState,
    criterion: EngagementCriterion = DEFAULT_ENGAGEMENT,
    *,
    as_of: dt.date | None = None,
) -> EngagementAssessment:
    """Whether ``episode`` shows engagement by ``criterion``, with the evidence and what is missing.

    ``as_of`` defaults to the day the episode ended (or every date recorded,
    for an open episode). An engaged episode's kept evidence is not re-read:
    this looks at the record itself, so a report can apply its own criterion.
    """
    when = as_of if as_of is not None else episode.ended_on
    evidence = evidence_from(
        episode.sessions,
        episode.journal,
        episode.commitments,
        episode.goals,
        as_of=when,
    )
    return judge(evidence, criterion)
