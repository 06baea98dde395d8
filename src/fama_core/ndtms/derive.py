"""Derive NDTMS sub-intervention review rows from a client's FAMA record. Pure.

Input: what fama knows (:class:`Facilitation`, projected from a
:class:`~fama_core.state.ClientState` by :func:`facilitation_from_state`),
what the host knows (:class:`~fama_core.ndtms.context.NdtmsContext`), a
dataset table (with its rules, or a provider's: :meth:`DatasetTable.with_rules`)
and the caller's ``as_of`` date (the core has no clock).

Rules (docs/ndtms.md, docs/decisions.md "NDTMS"):

- FAMA *activities* are the sessions held and the accompanied meetings. An
  accompanied meeting is peer support (``RECPEER``) when the table's
  :class:`~fama_core.ndtms.tables.PeerSupportRule` says its volunteer counts
  (a recovery community organisation's, commissioners' guide); any other
  accompanied meeting counts as facilitation (``RECMAID``) on its date.
- Each activity is recorded on **one** intervention: among those open on its
  day (a post-treatment one after discharge), the one the table's
  :class:`~fama_core.ndtms.tables.InterventionChoice` ranks first. Its review
  covering the day carries the flag; no other intervention's review does.
- A review covers the period since the previous review of the same
  intervention (the first: since the intervention started), up to and
  including its own date.
- Consent refused: one row with only the items the dataset allows without
  consent; consent not recorded: no row. Either way the result says why.
- Anything validation would refuse (a review outside its intervention or
  after ``as_of`` …) is left out and reported, and so is every activity that
  sets no flag (:class:`Unplaced`): nothing is dropped silently.

Rows are *sparse*: :attr:`SirRow.values` holds only the items fama fills; a
writer puts the dataset's empty value in every other column.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from fama_core.codes import AccompanimentOutcome
from fama_core.ndtms.context import Intervention, NdtmsContext, ReviewPoint
from fama_core.ndtms.tables import DatasetTable, InterventionChoice, PeerSupportRule
from fama_core.state import ClientState

__all__ = [
    "ACTIVITY_KINDS",
    "OPEN",
    "UNPLACED_CODES",
    "Accompanied",
    "ClientDerivation",
    "Derivation",
    "EpisodeSummary",
    "Facilitation",
    "FacilitationBuilder",
    "SirRow",
    "Unplaced",
    "derive",
    "derive_client",
    "facilitation_from_state",
    "policy_reviews",
    "support_days",
]


OPEN = "open"
"""The outcome of an episode that has not ended."""

ACTIVITY_KINDS: tuple[str, ...] = ("session", "accompaniment", "peer support")
"""What an :class:`Unplaced` item is: a FAMA session, an accompanied meeting that counts as
facilitation, or one that counts as peer support."""

UNPLACED_CODES: Mapping[str, str] = {
    "pending": "the next review of the open intervention will carry it",
    "no_review": "the intervention ended with no review after it (a missing review)",
    "no_intervention": "no intervention was open on the day",
    "outside_treatment": "outside the treatment episode (and no post-treatment intervention)",
    "after_reporting_date": "dated after the reporting date (as-of)",
    "withheld": "the treatment episode's rows are withheld (consent, agency code)",
    "review_skipped": "a host review validation would refuse was left out",
}
"""Why an activity (or a review) sets no flag, by code."""


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
    """Meetings a peer accompanied the client to (whoever the peer was)."""
    outcome: str
    """``engaged``, ``declined``, ``closed``, or ``open`` while the episode runs."""
    ended_on: dt.date | None


@dataclass(frozen=True, slots=True)
class Accompanied:
    """A meeting a volunteer accompanied the client to: its date and who went (host keys)."""

    on: dt.date
    volunteer_kind: str
    volunteer_id: str


@dataclass(frozen=True, slots=True)
class Facilitation:
    """What NDTMS needs of a client's FAMA record: session and accompaniment dates."""

    client_id: str
    sessions: tuple[dt.date, ...]
    """Dates of FAMA sessions held, ascending (repeats kept)."""
    peer_support: tuple[dt.date, ...]
    """Dates of every accompanied meeting, ascending, whoever went along; which of them are
    NDTMS peer support is the table's rule (:func:`support_days`)."""
    episodes: tuple[EpisodeSummary, ...]
    accompanied: tuple[Accompanied, ...] = ()
    """Who accompanied the client, per meeting (ascending by date). A date in
    ``peer_support`` with no entry here has an unknown volunteer: facilitation only."""

    @property
    def keyworker_id(self) -> str | None:
        """The keyworker of the latest episode."""
        return self.episodes[-1].keyworker_id if self.episodes else None


def support_days(
    f: Facilitation, rule: PeerSupportRule
) -> tuple[tuple[dt.date, ...], tuple[dt.date, ...], tuple[dt.date, ...]]:
    """``(sessions, accompaniments counted as facilitation, peer support)`` days, ascending."""
    if not f.peer_support:
        return f.sessions, (), ()
    peer: list[dt.date] = []
    other: list[dt.date] = []
    for a in f.accompanied:
        (peer if rule.counts(a.volunteer_kind, a.volunteer_id) else other).append(a.on)
    if len(f.accompanied) != len(f.peer_support):
        # Dates whose volunteer is not known (a caller that built Facilitation by hand).
        unknown = Counter(f.peer_support) - Counter(a.on for a in f.accompanied)
        other += unknown.elements()
        other.sort()
    return f.sessions, tuple(other), tuple(peer)


class FacilitationBuilder:
    """Builds a :class:`Facilitation` from facts read one at a time (a log scan)."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._episodes: dict[str, dict[str, object]] = {}
        self._sessions: list[dt.date] = []
        self._arranged: dict[tuple[str, str], Accompanied] = {}
        self._peer: list[Accompanied] = []

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

    def arranged(
        self,
        episode_id: str,
        arrangement_id: str,
        meeting_on: dt.date,
        volunteer_kind: str = "",
        volunteer_id: str = "",
    ) -> None:
        """A peer accompaniment was arranged for a meeting on ``meeting_on``."""
        self._arranged[(episode_id, arrangement_id)] = Accompanied(
            meeting_on, volunteer_kind, volunteer_id
        )

    def concluded(self, episode_id: str, arrangement_id: str, outcome: str) -> None:
        """An accompaniment concluded with ``outcome``."""
        arranged = self._arranged.get((episode_id, arrangement_id))
        ep = self._episode(episode_id)
        if arranged is None or ep is None or outcome != AccompanimentOutcome.ACCOMPANIED.value:
            return
        self._peer.append(arranged)
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
        accompanied = tuple(sorted(self._peer, key=_by_day))
        return Facilitation(
            self.client_id,
            tuple(sorted(self._sessions)),
            tuple(a.on for a in accompanied),
            tuple(summaries),
            accompanied,
        )


def _by_day(a: Accompanied) -> tuple[dt.date, str, str]:
    return (a.on, a.volunteer_kind, a.volunteer_id)


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
    accompanied: list[Accompanied] = []
    summaries = []
    for ep in state.episodes:
        days = [s.held_on for s in ep.sessions]
        went = [
            Accompanied(
                a.arrangement.date,
                a.arrangement.volunteer_kind.value,
                a.arrangement.volunteer_id,
            )
            for a in ep.accompaniments
            if a.outcome is AccompanimentOutcome.ACCOMPANIED
        ]
        sessions += days
        accompanied += went
        summaries.append(
            EpisodeSummary(
                episode_id=ep.episode_id,
                keyworker_id=ep.keyworker_id,
                opened_on=ep.opened_on,
                sessions=len(days),
                first_facilitation=min(days) if days else None,
                last_facilitation=max(days) if days else None,
                peer_supported=len(went),
                outcome=ep.status.value if ep.status.is_final else OPEN,
                ended_on=ep.ended_on,
            )
        )
    accompanied.sort(key=_by_day)
    return Facilitation(
        state.client_id,
        tuple(sorted(sessions)),
        tuple(a.on for a in accompanied),
        tuple(summaries),
        tuple(accompanied),
    )


@dataclass(frozen=True, slots=True)
class SirRow:
    """One sub-intervention review row: NDTMS item name → text, for the items fama fills.

    Sparse: an item not in ``values`` (or ``None``) is written as the dataset's
    empty value (``NA``), or withheld on a row without consent.
    """

    values: Mapping[str, str | None]
    intervention_id: str | None
    review_date: dt.date | None
    explain: tuple[str, ...] = ()
    """Why each flag has its value and why this intervention carries it (``explain=True``)."""


@dataclass(frozen=True, slots=True)
class Unplaced:
    """An activity (or a review) the rows could not carry, and why (no personal data)."""

    code: str
    """A key of :data:`UNPLACED_CODES`."""
    on: dt.date
    detail: str
    activity: str = "session"
    """A value of :data:`ACTIVITY_KINDS`, or ``review`` for ``review_skipped``."""


@dataclass(frozen=True, slots=True)
class Derivation:
    """The rows derived for one treatment episode, what could not be placed and why."""

    client_id: str
    rows: tuple[SirRow, ...]
    withheld: str | None
    """Why nothing (or only the consent row) is submitted; ``None`` when rows are complete."""
    unplaced: tuple[Unplaced, ...] = ()
    """Seen from this treatment episode alone: an activity of another episode of the same
    client is ``outside_treatment`` here (:func:`derive_client` reconciles)."""
    episodes: tuple[EpisodeSummary, ...] = field(default=())

    @property
    def reviews_missing(self) -> int:
        """Activities no review carries although the intervention has ended."""
        return sum(1 for u in self.unplaced if u.code in ("no_review", "no_intervention"))


@dataclass(frozen=True, slots=True)
class ClientDerivation:
    """Every treatment episode of one client, with the activities that set no flag at all."""

    client_id: str
    derivations: tuple[Derivation, ...]
    unplaced: tuple[Unplaced, ...]
    """Each activity no treatment episode's rows carry, once, with the most telling reason;
    plus every review left out."""

    @property
    def rows(self) -> tuple[SirRow, ...]:
        """Every row of every treatment episode, in order."""
        return tuple(r for d in self.derivations for r in d.rows)

    @property
    def reviews_missing(self) -> int:
        """Activities no review carries although the intervention has ended."""
        return sum(1 for u in self.unplaced if u.code in ("no_review", "no_intervention"))


def _policy_days(
    intervention: Intervention, interval_days: int, at_end: bool, as_of: dt.date
) -> list[tuple[str, dt.date]]:
    last = min(intervention.ended_on or as_of, as_of)
    start = intervention.started_on
    # The reviews up to ``last``, counted first: never a step past it (nor past date.max).
    count = (last - start).days // interval_days if last > start else 0
    days = [start + dt.timedelta(days=n * interval_days) for n in range(1, count + 1)]
    if at_end and intervention.ended_on is not None and intervention.ended_on <= as_of:
        if not days or days[-1] != intervention.ended_on:
            days.append(intervention.ended_on)
    mid = intervention.intervention_id
    return [(f"{mid}-{_compact(d)}", d) for d in days]


@lru_cache(maxsize=8192)  # bounded: review dates repeat across clients, memory must not grow
def _compact(day: dt.date) -> str:
    """``yyyymmdd`` (years always four digits)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


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


_BASE_ATTRS = (
    "agency_code",
    "client_id",
    "consent",
    "treatment_episode_id",
    "triaged_on",
    "discharged_on",
    "discharge_reason",
)
_INTERVENTION_ATTRS = (
    "modality",
    "setting",
    "intervention_id",
    "referred_on",
    "first_offered_on",
    "started_on",
    "ended_on",
    "exit_status",
)
_REVIEW_ATTRS = ("review_date", "review_id", "mutual_aid", "peer_support")


class _Plan:
    """What a derivation needs of one table, looked up once per table (clients are many).

    ``base``, ``intervention`` and ``review`` hold, per fama attribute in a
    fixed order, the columns it fills (a table may fill none, or several).
    """

    __slots__ = (
        "base",
        "by_attr",
        "choice",
        "dates",
        "intervention",
        "no",
        "review",
        "review_single",
        "table",
        "yes",
    )

    def __init__(self, table: DatasetTable) -> None:
        self.table = table
        by_attr: dict[str, tuple[str, ...]] = {}
        for f in table.fields:
            if f.fama_fills:
                by_attr[f.fama_fills] = (*by_attr.get(f.fama_fills, ()), f.name)
        self.by_attr = by_attr
        self.base = tuple(by_attr.get(a, ()) for a in _BASE_ATTRS)
        self.intervention = tuple(by_attr.get(a, ()) for a in _INTERVENTION_ATTRS)
        self.review = tuple(by_attr.get(a, ()) for a in _REVIEW_ATTRS)
        self.review_single: tuple[str, ...] | None = None
        if all(len(cols) == 1 for cols in self.review):
            self.review_single = tuple(cols[0] for cols in self.review)
        self.yes, self.no = table.yes, table.no
        self.choice: InterventionChoice = table.intervention_choice
        self.dates: dict[dt.date, str] = {}

    def fmt(self, day: dt.date) -> str:
        """``day`` in the table's date format (a bounded cache: dates repeat across clients)."""
        text = self.dates.get(day)
        if text is None:
            if len(self.dates) >= 8192:  # memory must not grow with the caseload
                self.dates.clear()
            text = self.dates[day] = self.table.format_date(day)
        return text


_PLANS: dict[int, _Plan] = {}


def _plan(table: DatasetTable) -> _Plan:
    """The table's :class:`_Plan` (kept per table object; tables are few)."""
    plan = _PLANS.get(id(table))
    if plan is None or plan.table is not table:
        if len(_PLANS) > 64:  # tables are few; a host building many is not leaking
            _PLANS.clear()
        plan = _PLANS[id(table)] = _Plan(table)
    return plan


def _put(
    row: dict[str, str | None], by_attr: Mapping[str, tuple[str, ...]], **items: str | None
) -> None:
    for attr, value in items.items():
        if value is None:
            continue
        for column in by_attr.get(attr, ()):
            row[column] = value


def _fill(
    row: dict[str, str | None], columns: tuple[tuple[str, ...], ...], values: Iterable[str | None]
) -> None:
    """Put each value (``None``: left out) in the columns of its attribute, in order."""
    for cols, value in zip(columns, values, strict=True):
        if value is not None:
            for column in cols:
                row[column] = value


_SESSION, _ACCOMPANIMENT, _PEER = range(3)
"""Indexes of ACTIVITY_KINDS: an activity is ``(day, kind index)``."""


def _activities(f: Facilitation, rule: PeerSupportRule) -> list[tuple[dt.date, int]]:
    if not f.peer_support:
        return [(d, _SESSION) for d in f.sessions]
    sessions, other, peer = support_days(f, rule)
    out = [(d, _SESSION) for d in sessions]
    if other:
        out += [(d, _ACCOMPANIMENT) for d in other]
    if peer:
        out += [(d, _PEER) for d in peer]
    return out


def _in_treatment_span(context: NdtmsContext, day: dt.date) -> bool:
    """Whether ``day`` is inside the treatment episode or one of its post-treatment supports."""
    t = context.treatment
    if t.started_on <= day and (t.ended_on is None or day <= t.ended_on):
        return True
    return t.ended_on is not None and any(
        iv.post_treatment and iv.started_on <= day and (iv.ended_on is None or day <= iv.ended_on)
        for iv in context.interventions
    )


def derive(
    context: NdtmsContext,
    facilitation: Facilitation,
    table: DatasetTable,
    *,
    as_of: dt.date,
    explain: bool = False,
) -> Derivation:
    """The sub-intervention review rows of one treatment episode (see the module docstring).

    ``explain`` adds to each row why its flags have their values
    (:attr:`SirRow.explain`), for ``fama ndtms export --explain``.
    """
    t = context.treatment
    episodes = facilitation.episodes
    consent = table.consent
    plan = _plan(table)
    activities = _activities(facilitation, table.peer_support)
    withheld: str | None = None
    if not t.agency_code:
        withheld = "agency code (AGNCY) not supplied: nothing submitted"
    elif t.consent_to_share is None:
        withheld = "consent not recorded: nothing submitted"
    elif t.consent_to_share is False:
        withheld = (
            "consent refused: only " + ", ".join(consent.kept_without_consent) + " are submitted"
        )
    if withheld is not None:
        unplaced = tuple(
            Unplaced("withheld", day, withheld, ACTIVITY_KINDS[kind])
            if _in_treatment_span(context, day)
            else Unplaced(
                "outside_treatment", day, "outside this treatment episode", ACTIVITY_KINDS[kind]
            )
            for day, kind in activities
        )
        rows: tuple[SirRow, ...] = ()
        if t.consent_to_share is False and t.agency_code:
            values: dict[str, str | None] = {}
            _put(values, plan.by_attr, agency_code=t.agency_code, client_id=t.client_id)
            _put(values, plan.by_attr, consent=consent.refused)
            kept = {k: v for k, v in values.items() if k in consent.kept_without_consent}
            rows = (SirRow(kept, None, None),)
        return Derivation(t.client_id, rows, withheld, unplaced, episodes)

    fmt = plan.fmt
    base: dict[str, str | None] = {}
    ended = t.ended_on
    _fill(
        base,
        plan.base,
        (
            t.agency_code,
            t.client_id,
            consent.given,
            t.treatment_episode_id,
            fmt(t.started_on),
            fmt(ended) if ended else None,
            t.end_reason if ended else None,
        ),
    )
    return _Deriver(context, plan, as_of, explain, base).run(activities, episodes)


class _Deriver:
    """One treatment episode's derivation: reviews per intervention, then each activity placed."""

    __slots__ = (
        "as_of",
        "base",
        "context",
        "elsewhere",
        "explain",
        "hits",
        "over",
        "plan",
        "review_days",
        "reviews",
        "spans",
        "unplaced",
    )

    def __init__(
        self,
        context: NdtmsContext,
        plan: _Plan,
        as_of: dt.date,
        explain: bool,
        base: dict[str, str | None],
    ) -> None:
        self.context = context
        self.plan = plan
        self.as_of = as_of
        self.explain = explain
        self.base = base
        self.unplaced: list[Unplaced] = []
        ivs = context.interventions
        self.reviews: list[list[tuple[str, dt.date]]] = [self._valid_reviews(iv) for iv in ivs]
        self.review_days: list[list[dt.date]] = [[d for _, d in r] for r in self.reviews]
        # (post-treatment, start, end) of each intervention: read once, tested per activity.
        self.spans = [(iv.post_treatment, iv.started_on, iv.ended_on) for iv in ivs]
        # (intervention index, review index) → activities per kind index
        self.hits: dict[tuple[int, int], list[int]] = {}
        # (intervention index, review index) → MODIDs that carried activities of this period
        self.elsewhere: dict[tuple[int, int], Counter[str]] = {}
        self.over: dict[tuple[int, int], set[str]] = {}

    def _valid_reviews(self, iv: Intervention) -> list[tuple[str, dt.date]]:
        t = self.context.treatment
        if iv.reviews:
            found = sorted(
                ((r.review_id, r.reviewed_on) for r in iv.reviews), key=lambda r: (r[1], r[0])
            )
        elif self.context.review_policy is not None:
            policy = self.context.review_policy
            found = _policy_days(iv, policy.interval_days, policy.at_end, self.as_of)
        else:
            return []
        triaged, discharged, as_of = t.started_on, t.ended_on, self.as_of
        out = []
        for review_id, day in found:
            problem = _review_problem(triaged, discharged, iv, day, as_of)
            if problem:
                self.unplaced.append(
                    Unplaced("review_skipped", day, f"review {review_id}: {problem}", "review")
                )
            else:
                out.append((review_id, day))
        return out

    def _candidates(self, day: dt.date) -> tuple[list[int], str | None]:
        """Indexes of the interventions open on ``day``, or why there are none."""
        t = self.context.treatment
        post = t.ended_on is not None and day > t.ended_on
        if not post and day < t.started_on:
            return [], "outside_treatment"
        found = [
            i
            for i, (p, start, end) in enumerate(self.spans)
            if p == post and start <= day and (end is None or day <= end)
        ]
        if found:
            return found, None
        return [], "outside_treatment" if post else "no_intervention"

    def _place(self, on: dt.date, kind: int) -> None:
        if on > self.as_of:
            code = "after_reporting_date"
            self.unplaced.append(Unplaced(code, on, UNPLACED_CODES[code], ACTIVITY_KINDS[kind]))
            return
        found, why = self._candidates(on)
        if why is not None:
            detail = UNPLACED_CODES[why]
            if why == "outside_treatment" and self.context.treatment.ended_on is not None:
                if on > self.context.treatment.ended_on:
                    detail = "after discharge and no post-treatment intervention covers it"
            self.unplaced.append(Unplaced(why, on, detail, ACTIVITY_KINDS[kind]))
            return
        ivs = self.context.interventions
        if len(found) == 1:
            best = found[0]
        else:
            choice = self.plan.choice
            best = min(
                found,
                key=lambda i: (
                    choice.rank(ivs[i].modality),
                    ivs[i].started_on,
                    ivs[i].intervention_id,
                ),
            )
        days = self.review_days[best]
        r = bisect_left(days, on)
        if r == len(days):
            iv = ivs[best]
            t = self.context.treatment
            still_open = iv.ended_on is None and (iv.post_treatment or t.ended_on is None)
            code = "pending" if still_open else "no_review"
            self.unplaced.append(Unplaced(code, on, UNPLACED_CODES[code], ACTIVITY_KINDS[kind]))
            return
        hits = self.hits.get((best, r))
        if hits is None:
            hits = self.hits[(best, r)] = [0, 0, 0]
        hits[kind] += 1
        if len(found) > 1 and self.explain:
            chosen = ivs[best].intervention_id
            for i in found:
                if i == best:
                    continue
                self.over.setdefault((best, r), set()).add(ivs[i].intervention_id)
                ri = bisect_left(self.review_days[i], on)
                if ri < len(self.review_days[i]):
                    self.elsewhere.setdefault((i, ri), Counter())[chosen] += 1

    def run(
        self, activities: Iterable[tuple[dt.date, int]], episodes: tuple[EpisodeSummary, ...]
    ) -> Derivation:
        place = self._place
        if len(self.spans) == 1:
            # One intervention (most clients): an activity it covers and a review carries is
            # counted here; anything else goes through _place, which finds out why.
            post0, start0, end0 = self.spans[0]
            days0 = self.review_days[0]
            t = self.context.treatment
            triaged, discharged, as_of = t.started_on, t.ended_on, self.as_of
            hits0 = self.hits
            for on, kind in activities:
                if (
                    on <= as_of
                    and post0 == (discharged is not None and on > discharged)
                    and (post0 or on >= triaged)
                    and start0 <= on
                    and (end0 is None or on <= end0)
                ):
                    r = bisect_left(days0, on)
                    if r < len(days0):
                        hits = hits0.get((0, r))
                        if hits is None:
                            hits = hits0[(0, r)] = [0, 0, 0]
                        hits[kind] += 1
                        continue
                place(on, kind)
        else:
            for on, kind in activities:
                place(on, kind)
        rows: list[SirRow] = []
        t = self.context.treatment
        plan = self.plan
        fmt = plan.fmt
        yes, no = plan.yes, plan.no
        iv_columns = plan.intervention
        col_date, col_id, col_maid, col_peer = plan.review
        single = plan.review_single
        explain, hits_at = self.explain, self.hits.get
        for i, iv in enumerate(self.context.interventions):
            reviews = self.reviews[i]
            if not reviews:
                continue
            common = self.base.copy()
            _fill(
                common,
                iv_columns,
                (
                    iv.modality,
                    iv.setting,
                    iv.intervention_id,
                    fmt(iv.referred_on) if iv.referred_on else None,
                    fmt(iv.first_offered_on) if iv.first_offered_on else None,
                    fmt(iv.started_on),
                    fmt(iv.ended_on) if iv.ended_on else None,
                    iv.exit_status,
                ),
            )
            mid = iv.intervention_id
            for r, (review_id, day) in enumerate(reviews):
                hits = hits_at((i, r))
                if hits is None:
                    maid = peer = no
                else:
                    maid = yes if hits[_SESSION] or hits[_ACCOMPANIMENT] else no
                    peer = yes if hits[_PEER] else no
                values = common.copy()
                # The four review items, each in its columns (one each in every shipped table).
                if single is not None:
                    values[single[0]] = fmt(day)
                    values[single[1]] = review_id
                    values[single[2]] = maid
                    values[single[3]] = peer
                else:
                    for column in col_date:
                        values[column] = fmt(day)
                    for column in col_id:
                        values[column] = review_id
                    for column in col_maid:
                        values[column] = maid
                    for column in col_peer:
                        values[column] = peer
                why = self._explain(i, r, hits) if explain else ()
                rows.append(SirRow(values, mid, day, why))
        return Derivation(t.client_id, tuple(rows), None, tuple(self.unplaced), episodes)

    def _explain(self, i: int, r: int, found: list[int] | None) -> tuple[str, ...]:
        sessions, other, peer = found or (0, 0, 0)
        yes, no = self.plan.yes, self.plan.no
        out = []
        if sessions or other:
            parts = []
            if sessions:
                parts.append(f"{sessions} FAMA session(s)")
            if other:
                parts.append(f"{other} accompanied meeting(s) not counted as peer support")
            out.append(f"RECMAID={yes}: " + " and ".join(parts) + " in the review period")
        else:
            out.append(
                f"RECMAID={no}: no FAMA activity recorded on this intervention in the period"
            )
        if peer:
            out.append(
                f"RECPEER={yes}: {peer} meeting(s) accompanied by a volunteer the "
                "peer support rule counts"
            )
        else:
            out.append(
                f"RECPEER={no}: no meeting accompanied by a volunteer the peer support rule counts"
            )
        over = self.over.get((i, r))
        if over:
            out.append(
                "recorded here rather than on MODID "
                + ", ".join(sorted(over))
                + " by the intervention choice rule ("
                + self.plan.choice.describe()
                + ")"
            )
        elsewhere = self.elsewhere.get((i, r))
        if elsewhere:
            out.append(
                f"{sum(elsewhere.values())} activity(ies) of this period recorded on MODID "
                + ", ".join(sorted(elsewhere))
                + " instead, by the intervention choice rule ("
                + self.plan.choice.describe()
                + ")"
            )
        return tuple(out)


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


_PRIORITY = {
    "pending": 0,
    "no_review": 0,
    "no_intervention": 1,
    "withheld": 2,
    "after_reporting_date": 3,
    "outside_treatment": 4,
}


def derive_client(
    contexts: Sequence[NdtmsContext],
    facilitation: Facilitation,
    table: DatasetTable,
    *,
    as_of: dt.date,
    explain: bool = False,
) -> ClientDerivation:
    """Every treatment episode of one client, and each activity no episode's rows carry.

    An activity placed by one treatment episode is ``outside_treatment`` for
    the client's others; here it is placed. An activity none places is
    reported once, with the reason of the episode it belongs to (a missing or
    pending review, consent …) before ``outside_treatment``.
    """
    if len(contexts) == 1:  # one treatment episode: its own view is the client's
        only = derive(contexts[0], facilitation, table, as_of=as_of, explain=explain)
        return ClientDerivation(facilitation.client_id, (only,), only.unplaced)
    derivations = tuple(
        derive(ctx, facilitation, table, as_of=as_of, explain=explain) for ctx in contexts
    )
    total = Counter(
        (day, ACTIVITY_KINDS[kind]) for day, kind in _activities(facilitation, table.peer_support)
    )
    best: dict[tuple[dt.date, str], Unplaced] = {}
    unplaced_in: Counter[tuple[dt.date, str]] = Counter()
    reviews: list[Unplaced] = []
    for d in derivations:
        seen: Counter[tuple[dt.date, str]] = Counter()
        for u in d.unplaced:
            if u.activity == "review":
                reviews.append(u)
                continue
            key = (u.on, u.activity)
            seen[key] += 1
            known = best.get(key)
            if known is None or _PRIORITY.get(u.code, 5) < _PRIORITY.get(known.code, 5):
                best[key] = u
        for key in seen:
            unplaced_in[key] += 1
    out: list[Unplaced] = []
    n = len(derivations)
    for key, count in sorted(total.items()):
        if n == 0:
            out += [Unplaced("outside_treatment", key[0], "no treatment episode", key[1])] * count
        elif unplaced_in[key] == n:  # every treatment episode left it unplaced
            out += [best[key]] * count
    return ClientDerivation(facilitation.client_id, derivations, tuple(out + reviews))
