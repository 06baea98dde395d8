"""Derive NDTMS sub-intervention review rows from a client's FAMA record. Pure.

Input: what fama knows (:class:`Facilitation`, projected from a
:class:`~fama_core.state.ClientState` by :func:`facilitation_from_state`),
what the host knows (:class:`~fama_core.ndtms.context.NdtmsContext`), a
dataset table and the caller's ``as_of`` date (the core has no clock).

Rules (docs/ndtms.md, docs/decisions.md "NDTMS"):

- A review covers the period since the previous review of the same
  intervention (the first: since the intervention started), up to and
  including its own date.
- ``RECMAID`` is *yes* when a FAMA session was held in the period, else *no*.
- ``RECPEER`` is *yes* when a peer accompanied the client to a meeting in the
  period (an accompaniment concluded ``accompanied``; dated by the meeting).
- Sessions after discharge belong to a post-treatment intervention; without
  one they are reported, never forced into a treatment review.
- Consent refused: one row with only the items the dataset allows without
  consent; consent not recorded: no row. Either way the result says why.
- Anything validation would refuse (a review outside its intervention or
  after ``as_of`` …) is left out and reported: every derived row validates.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field

from fama_core.codes import AccompanimentOutcome
from fama_core.ndtms.context import Intervention, NdtmsContext, ReviewPoint
from fama_core.ndtms.tables import DatasetTable
from fama_core.state import ClientState

__all__ = [
    "OPEN",
    "Derivation",
    "EpisodeSummary",
    "Facilitation",
    "FacilitationBuilder",
    "SirRow",
    "Unplaced",
    "derive",
    "facilitation_from_state",
    "policy_reviews",
]


OPEN = "open"
"""The outcome of an episode that has not ended."""


@dataclass(frozen=True, slots=True)
class EpisodeSummary:
    """One FAMA episode for reports: when facilitation ran and how it ended."""

    episode_id: str
    keyworker_id: str
    opened_on: dt.date
    sessions: int
    first_facilitation: dt.date | None
    last_facilitation: dt.date | None
    peer_supported: int
    """Meetings a peer accompanied the client to."""
    outcome: str
    """``engaged``, ``declined``, ``closed``, or ``open`` while the episode runs."""
    ended_on: dt.date | None


@dataclass(frozen=True, slots=True)
class Facilitation:
    """What NDTMS needs of a client's FAMA record: session and peer-support dates."""

    client_id: str
    sessions: tuple[dt.date, ...]
    """Dates of FAMA sessions held, ascending (repeats kept)."""
    peer_support: tuple[dt.date, ...]
    """Dates a peer accompanied the client, ascending."""
    episodes: tuple[EpisodeSummary, ...]

    @property
    def keyworker_id(self) -> str | None:
        """The keyworker of the latest episode."""
        return self.episodes[-1].keyworker_id if self.episodes else None


class FacilitationBuilder:
    """Builds a :class:`Facilitation` from facts read one at a time (a log scan)."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._episodes: dict[str, dict[str, object]] = {}
        self._sessions: list[dt.date] = []
        self._arranged: dict[tuple[str, str], dt.date] = {}
        self._peer: list[dt.date] = []

    def opened(self, episode_id: str, keyworker_id: str, on: dt.date) -> None:
        """An episode was opened."""
        self._episodes[episode_id] = {
            "keyworker_id": keyworker_id,
            "opened_on": on,
            "sessions": [],
            "peer": 0,
            "outcome": OPEN,
            "ended_on": None,
        }

    def _episode(self, episode_id: str) -> dict[str, object] | None:
        return self._episodes.get(episode_id)

    def session(self, episode_id: str, on: dt.date) -> None:
        """A FAMA session was held."""
        ep = self._episode(episode_id)
        if ep is None:
            return
        sessions = ep["sessions"]
        assert isinstance(sessions, list)
        sessions.append(on)
        self._sessions.append(on)

    def arranged(self, episode_id: str, arrangement_id: str, meeting_on: dt.date) -> None:
        """A peer accompaniment was arranged for a meeting on ``meeting_on``."""
        self._arranged[(episode_id, arrangement_id)] = meeting_on

    def concluded(self, episode_id: str, arrangement_id: str, outcome: str) -> None:
        """An accompaniment concluded with ``outcome``."""
        day = self._arranged.get((episode_id, arrangement_id))
        ep = self._episode(episode_id)
        if day is None or ep is None or outcome != AccompanimentOutcome.ACCOMPANIED.value:
            return
        self._peer.append(day)
        peer = ep["peer"]
        assert isinstance(peer, int)
        ep["peer"] = peer + 1

    def ended(self, episode_id: str, status: str, on: dt.date) -> None:
        """The episode ended as ``status`` (engaged, declined, closed)."""
        ep = self._episode(episode_id)
        if ep is not None:
            ep["outcome"] = status
            ep["ended_on"] = on

    def build(self) -> Facilitation:
        """The facilitation record of everything seen."""
        summaries = []
        for episode_id, ep in self._episodes.items():
            sessions = ep["sessions"]
            assert isinstance(sessions, list)
            summaries.append(_summary(episode_id, ep, sessions, str(ep["outcome"])))
        return Facilitation(
            self.client_id,
            tuple(sorted(self._sessions)),
            tuple(sorted(self._peer)),
            tuple(summaries),
        )


def _summary(
    episode_id: str, ep: Mapping[str, object], sessions: list[dt.date], outcome: str
) -> EpisodeSummary:
    opened = ep["opened_on"]
    ended = ep["ended_on"]
    peer = ep["peer"]
    assert isinstance(opened, dt.date) and isinstance(peer, int)
    assert ended is None or isinstance(ended, dt.date)
    return EpisodeSummary(
        episode_id=episode_id,
        keyworker_id=str(ep["keyworker_id"]),
        opened_on=opened,
        sessions=len(sessions),
        first_facilitation=min(sessions) if sessions else None,
        last_facilitation=max(sessions) if sessions else None,
        peer_supported=peer,
        outcome=outcome,
        ended_on=ended,
    )


def facilitation_from_state(state: ClientState) -> Facilitation:
    """Project a folded client record onto what NDTMS needs."""
    sessions: list[dt.date] = []
    peer: list[dt.date] = []
    summaries = []
    for ep in state.episodes:
        days = [s.held_on for s in ep.sessions]
        accompanied = [
            a.arrangement.date
            for a in ep.accompaniments
            if a.outcome is AccompanimentOutcome.ACCOMPANIED
        ]
        sessions += days
        peer += accompanied
        summaries.append(
            EpisodeSummary(
                episode_id=ep.episode_id,
                keyworker_id=ep.keyworker_id,
                opened_on=ep.opened_on,
                sessions=len(days),
                first_facilitation=min(days) if days else None,
                last_facilitation=max(days) if days else None,
                peer_supported=len(accompanied),
                outcome=ep.status.value if ep.status.is_final else OPEN,
                ended_on=ep.ended_on,
            )
        )
    return Facilitation(
        state.client_id, tuple(sorted(sessions)), tuple(sorted(peer)), tuple(summaries)
    )


@dataclass(frozen=True, slots=True)
class SirRow:
    """One sub-intervention review row: NDTMS item name → text (``None`` written as NA)."""

    values: Mapping[str, str | None]
    intervention_id: str | None
    review_date: dt.date | None


@dataclass(frozen=True, slots=True)
class Unplaced:
    """Facilitation or a review the rows could not carry, and why (no personal data)."""

    code: str
    """``no_review`` (missing), ``pending`` (next review will carry it), ``outside_treatment``,
    ``no_intervention``, ``review_skipped``."""
    on: dt.date
    detail: str


@dataclass(frozen=True, slots=True)
class Derivation:
    """The rows derived for one client, what could not be placed and why none may be."""

    client_id: str
    rows: tuple[SirRow, ...]
    withheld: str | None
    """Why nothing (or only the consent row) is submitted; ``None`` when rows are complete."""
    unplaced: tuple[Unplaced, ...] = ()
    episodes: tuple[EpisodeSummary, ...] = field(default=())

    @property
    def reviews_missing(self) -> int:
        """Facilitation dates no review carries although the intervention has ended."""
        return sum(1 for u in self.unplaced if u.code in ("no_review", "no_intervention"))


def _policy_days(
    intervention: Intervention, interval_days: int, at_end: bool, as_of: dt.date
) -> list[tuple[str, dt.date]]:
    last = min(intervention.ended_on or as_of, as_of)
    days: list[dt.date] = []
    step = dt.timedelta(days=interval_days)
    day = intervention.started_on + step
    while day <= last:
        days.append(day)
        day += step
    if at_end and intervention.ended_on is not None and intervention.ended_on <= as_of:
        if not days or days[-1] != intervention.ended_on:
            days.append(intervention.ended_on)
    mid = intervention.intervention_id
    return [(f"{mid}-{d.year:04d}{d.month:02d}{d.day:02d}", d) for d in days]


def policy_reviews(
    intervention: Intervention, interval_days: int, at_end: bool, as_of: dt.date
) -> tuple[ReviewPoint, ...]:
    """Review dates a :class:`~fama_core.ndtms.context.ReviewPolicy` proposes, up to ``as_of``.

    Every ``interval_days`` from the intervention start, plus its end date when
    ``at_end``; ids are ``<MODID>-<yyyymmdd>``, stable across runs.
    """
    return tuple(
        ReviewPoint.model_construct(review_id=rid, reviewed_on=day)
        for rid, day in _policy_days(intervention, interval_days, at_end, as_of)
    )


def _in(days: tuple[dt.date, ...], lo: dt.date, hi: dt.date) -> bool:
    """Whether any of the sorted ``days`` lies in ``[lo, hi]``."""
    return bisect_left(days, lo) < bisect_right(days, hi)


_COLUMN_MAPS: dict[int, tuple[DatasetTable, dict[str, None], dict[str, tuple[str, ...]]]] = {}


def _columns(table: DatasetTable) -> tuple[dict[str, None], dict[str, tuple[str, ...]]]:
    """An all-empty row in column order, and fama attribute → its columns, per table."""
    cached = _COLUMN_MAPS.get(id(table))
    if cached is None or cached[0] is not table:
        empty: dict[str, None] = dict.fromkeys(table.columns)
        by_attr: dict[str, tuple[str, ...]] = {}
        for f in table.fields:
            if f.fama_fills:
                by_attr[f.fama_fills] = (*by_attr.get(f.fama_fills, ()), f.name)
        cached = (table, empty, by_attr)
        if len(_COLUMN_MAPS) > 64:  # tables are few; a host building many is not leaking
            _COLUMN_MAPS.clear()
        _COLUMN_MAPS[id(table)] = cached
    return cached[1], cached[2]


def _put(
    row: dict[str, str | None], by_attr: Mapping[str, tuple[str, ...]], **items: str | None
) -> None:
    for attr, value in items.items():
        for column in by_attr.get(attr, ()):
            row[column] = value


def derive(
    context: NdtmsContext,
    facilitation: Facilitation,
    table: DatasetTable,
    *,
    as_of: dt.date,
) -> Derivation:
    """The sub-intervention review rows of one client (see the module docstring)."""
    t = context.treatment
    episodes = facilitation.episodes
    consent = table.consent
    empty, by_attr = _columns(table)
    if not t.agency_code:
        reason = "agency code (AGNCY) not supplied: nothing submitted"
        return Derivation(t.client_id, (), reason, (), episodes)
    if t.consent_to_share is None:
        return Derivation(t.client_id, (), "consent not recorded: nothing submitted", (), episodes)
    if t.consent_to_share is False:
        values: dict[str, str | None] = dict(empty)
        _put(values, by_attr, agency_code=t.agency_code, client_id=t.client_id)
        _put(values, by_attr, consent=consent.refused)
        for name in list(values):
            if name not in consent.kept_without_consent:
                values[name] = None
        reason = (
            "consent refused: only " + ", ".join(consent.kept_without_consent) + " are submitted"
        )
        return Derivation(t.client_id, (SirRow(values, None, None),), reason, (), episodes)

    fmt = table.format_date
    base: dict[str, str | None] = dict(empty)
    _put(
        base,
        by_attr,
        agency_code=t.agency_code,
        client_id=t.client_id,
        consent=consent.given,
        treatment_episode_id=t.treatment_episode_id,
        triaged_on=fmt(t.started_on),
        discharged_on=fmt(t.ended_on) if t.ended_on else None,
        discharge_reason=t.end_reason if t.ended_on else None,
    )
    sessions, peer = facilitation.sessions, facilitation.peer_support
    rows: list[SirRow] = []
    unplaced: list[Unplaced] = []
    placed: set[dt.date] = set()
    for iv in context.interventions:
        rows += _intervention_rows(
            context, iv, sessions, peer, table, as_of, base, by_attr, placed, unplaced
        )
    unplaced += _unplaced_sessions(context, sessions, placed, as_of)
    return Derivation(t.client_id, tuple(rows), None, tuple(unplaced), episodes)


def _reviews(context: NdtmsContext, iv: Intervention, as_of: dt.date) -> list[tuple[str, dt.date]]:
    if iv.reviews:
        return sorted(
            ((r.review_id, r.reviewed_on) for r in iv.reviews), key=lambda r: (r[1], r[0])
        )
    policy = context.review_policy
    if policy is None:
        return []
    return _policy_days(iv, policy.interval_days, policy.at_end, as_of)


def _intervention_rows(
    context: NdtmsContext,
    iv: Intervention,
    sessions: tuple[dt.date, ...],
    peer: tuple[dt.date, ...],
    table: DatasetTable,
    as_of: dt.date,
    base: Mapping[str, str | None],
    by_attr: Mapping[str, tuple[str, ...]],
    placed: set[dt.date],
    skipped: list[Unplaced],
) -> list[SirRow]:
    t = context.treatment
    fmt = table.format_date
    common = dict(base)
    _put(
        common,
        by_attr,
        modality=iv.modality,
        setting=iv.setting,
        intervention_id=iv.intervention_id,
        referred_on=fmt(iv.referred_on) if iv.referred_on else None,
        first_offered_on=fmt(iv.first_offered_on) if iv.first_offered_on else None,
        started_on=fmt(iv.started_on),
        ended_on=fmt(iv.ended_on) if iv.ended_on else None,
        exit_status=iv.exit_status,
    )
    yes, no = table.yes, table.no
    rows: list[SirRow] = []
    previous: dt.date | None = None
    for review_id, day in _reviews(context, iv, as_of):
        problem = _review_problem(t.started_on, t.ended_on, iv, day, as_of)
        if problem:
            skipped.append(Unplaced("review_skipped", day, f"review {review_id}: {problem}"))
            continue
        lo = iv.started_on if previous is None else previous + _DAY
        previous = day
        lo, hi = _clip(t.started_on, t.ended_on, iv, lo, day)
        values = dict(common)
        held = lo <= hi and _in(sessions, lo, hi)
        _put(
            values,
            by_attr,
            review_date=fmt(day),
            review_id=review_id,
            mutual_aid=yes if held else no,
            peer_support=yes if lo <= hi and _in(peer, lo, hi) else no,
        )
        if held:
            placed.update(d for d in sessions if lo <= d <= hi)
        rows.append(SirRow(values, iv.intervention_id, day))
    return rows


_DAY = dt.timedelta(days=1)


def _clip(
    triaged: dt.date, discharged: dt.date | None, iv: Intervention, lo: dt.date, hi: dt.date
) -> tuple[dt.date, dt.date]:
    """The part of a review period in which facilitation counts for this intervention."""
    lo = max(lo, iv.started_on)
    if iv.post_treatment:
        if discharged is not None:
            lo = max(lo, discharged + dt.timedelta(days=1))
    else:
        lo = max(lo, triaged)
        if discharged is not None:
            hi = min(hi, discharged)
    return lo, hi


def _review_problem(
    triaged: dt.date, discharged: dt.date | None, iv: Intervention, day: dt.date, as_of: dt.date
) -> str | None:
    if day > as_of:
        return "dated after the reporting date"
    if day < iv.started_on:
        return "dated before the intervention started"
    if iv.ended_on is not None and day > iv.ended_on:
        return "dated after the intervention ended"
    if day < triaged:
        return "dated before triage"
    if not iv.post_treatment and discharged is not None and day > discharged:
        return "dated after discharge on a treatment intervention"
    if iv.post_treatment and discharged is not None and day <= discharged:
        return "post-treatment review dated on or before discharge"
    return None


def _unplaced_sessions(
    context: NdtmsContext, sessions: tuple[dt.date, ...], placed: set[dt.date], as_of: dt.date
) -> list[Unplaced]:
    t = context.treatment
    out: list[Unplaced] = []
    for day in sorted(set(sessions) - placed):
        if day > as_of:
            continue
        covering = [
            iv
            for iv in context.interventions
            if iv.started_on <= day
            and (iv.ended_on is None or day <= iv.ended_on)
            and (iv.post_treatment == (t.ended_on is not None and day > t.ended_on))
        ]
        if day < t.started_on or (t.ended_on is not None and day > t.ended_on and not covering):
            code, detail = "outside_treatment", "session outside the treatment episode"
            if t.ended_on is not None and day > t.ended_on:
                detail = "session after discharge and no post-treatment intervention covers it"
        elif not covering:
            code, detail = "no_intervention", "no intervention covers the session date"
        elif any(iv.ended_on is None for iv in covering):
            code, detail = "pending", "the next review of an open intervention will carry it"
        else:
            code, detail = "no_review", "the intervention ended with no review after the session"
        out.append(Unplaced(code, day, detail))
    return out
