"""Access to mutual aid: the FAMA funnel from the event log, aggregated, small counts withheld.

The commissioners' guide asks partnerships to find "barriers that may need to
be overcome within the existing treatment system". This module reads folded
client states (never events' free text) and counts, for a reporting period:

* the funnel: clients *introduced* (session 1 held), *committed* to a meeting,
  who *attended a first meeting* (journal entry marked attended, or a
  commitment reviewed as attended), *engaged*, *declined*, *closed*, and still
  *in progress*;
* how often peer accompaniment was arranged and used;
* the median days between stages;
* the obstacles raised;

for the whole area and by organisation chosen, keyworker, team and month of
introduction. The unit is the client: each client counts once, through the
latest episode whose session 1 falls in the period. Counts of 1 to
``threshold - 1`` clients, and any count that would let one be worked back,
are withheld (:mod:`fama_core.commissioning.suppression`). Only
:class:`AccessReport` — the published figures — leaves this module's
:func:`analyse_access`; no client id or date reaches it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field

from fama_core.codes import AccompanimentOutcome, CommitmentOutcome, EpisodeStatus, Obstacle
from fama_core.commissioning.suppression import (
    DEFAULT_THRESHOLD,
    Relation,
    Unprotectable,
    check_relations,
    suppress,
)
from fama_core.errors import InputUnreadable
from fama_core.models import FamaModel
from fama_core.state import ClientState, EpisodeState

__all__ = [
    "AREA",
    "COUNT_MEASURES",
    "FUNNEL_STAGES",
    "KEYWORKER_IN_TEAM",
    "MEDIAN_MEASURES",
    "MEDIAN_SAMPLES",
    "NO_ORGANISATION",
    "NO_TEAM",
    "RELATION_RULES",
    "SUPPRESSION_TIERS",
    "AccessCells",
    "AccessReport",
    "ClientJourney",
    "Dimension",
    "EarlierReport",
    "GroupFigures",
    "ObstacleFigure",
    "access_cells",
    "analyse_access",
    "journey_of",
    "journeys_from_caseload",
    "overlap_of",
    "percentile_clients",
    "period_atoms",
]

AREA = "all"
"""The label of the whole-area group."""
NO_ORGANISATION = "none chosen"
"""Organisation group of clients who never committed to a meeting."""
NO_TEAM = "no team"
"""Team group of episodes opened without a team."""

COUNT_MEASURES: tuple[str, ...] = (
    "introduced",
    "committed",
    "first_meeting",
    "engaged",
    "declined",
    "closed",
    "in_progress",
    "accompaniment_arranged",
    "accompaniment_used",
)
"""The counts of clients published per group, in reading order."""

FUNNEL_STAGES: tuple[str, ...] = ("introduced", "committed", "first_meeting", "engaged")
"""The stages drawn as a funnel; declined, closed and in progress are the other ends."""

MEDIAN_MEASURES: tuple[str, ...] = (
    "days_introduced_to_committed",
    "days_committed_to_first_meeting",
    "days_first_meeting_to_engaged",
)
"""Median days between consecutive stages, published per group."""

MEDIAN_SAMPLES: dict[str, tuple[str, ...]] = {
    "days_introduced_to_committed": ("committed",),
    "days_committed_to_first_meeting": ("committed", "first_meeting"),
    "days_first_meeting_to_engaged": ("first_meeting", "engaged"),
}
"""The counts whose clients each median is taken over: every committed client for the first,
some of the clients of both counts for the others. A median is shown only when the counts
are (``docs/decisions.md``, C35)."""

# Counts never shown but worked out from two shown ones: (name, whole, part).
_DIFFERENCES: tuple[tuple[str, str, str], ...] = (
    ("never_committed", "introduced", "committed"),
    ("no_first_meeting", "introduced", "first_meeting"),
    ("committed_not_engaged", "committed", "engaged"),
    ("met_not_engaged", "first_meeting", "engaged"),
    ("never_arranged", "introduced", "accompaniment_arranged"),
    ("arranged_not_used", "accompaniment_arranged", "accompaniment_used"),
)
_ENDS = ("engaged", "declined", "closed", "in_progress")

Key = tuple[str, str, str]
"""A count's key: (dimension, group, measure)."""


class Dimension(StrEnum):
    """How the clients of the area are split into groups (each split covers every client)."""

    AREA = "area"
    ORGANISATION = "organisation"
    """The organisation of the client's first meeting commitment (their first choice)."""
    KEYWORKER = "keyworker"
    """The keyworker who opened the episode."""
    TEAM = "team"
    """The keyworker's team recorded when the episode opened."""
    MONTH = "month"
    """Calendar month of session 1 (trends)."""


@dataclass(frozen=True, slots=True)
class ClientJourney:
    """What the report needs from one client's episode: no client id, no free text."""

    keyworker_id: str
    team_id: str | None
    introduced_on: dt.date
    status: EpisodeStatus
    organisation: str | None = None
    committed_on: dt.date | None = None
    first_meeting_on: dt.date | None = None
    ended_on: dt.date | None = None
    obstacles: frozenset[Obstacle] = frozenset()
    accompaniment_arranged: bool = False
    accompaniment_used: bool = False

    def measures(self) -> set[str]:
        """The count measures this client adds one to."""
        out = {"introduced"}
        if self.committed_on is not None:
            out.add("committed")
        if self.first_meeting_on is not None:
            out.add("first_meeting")
        out.add(
            {
                EpisodeStatus.ENGAGED: "engaged",
                EpisodeStatus.DECLINED: "declined",
                EpisodeStatus.CLOSED: "closed",
            }.get(self.status, "in_progress")
        )
        if self.accompaniment_arranged:
            out.add("accompaniment_arranged")
        if self.accompaniment_used:
            out.add("accompaniment_used")
        return out

    def intervals(self) -> dict[str, int]:
        """Days between consecutive stages this client reached, in order.

        A first meeting before the first commitment (a journal entry of a
        meeting the client chose alone) has no commitment-to-meeting interval.
        """
        out: dict[str, int] = {}
        if self.committed_on is not None:
            out["days_introduced_to_committed"] = (self.committed_on - self.introduced_on).days
            if self.first_meeting_on is not None and self.first_meeting_on >= self.committed_on:
                out["days_committed_to_first_meeting"] = (
                    self.first_meeting_on - self.committed_on
                ).days
        if (
            self.status is EpisodeStatus.ENGAGED
            and self.first_meeting_on is not None
            and self.ended_on is not None
        ):
            out["days_first_meeting_to_engaged"] = (self.ended_on - self.first_meeting_on).days
        return out


def journey_of(episode: EpisodeState) -> ClientJourney | None:
    """The report's view of an episode; ``None`` when session 1 was never held."""
    if not episode.sessions:
        return None
    first = episode.commitments[0] if episode.commitments else None
    met = [e.date for e in episode.journal if e.attended]
    met += [
        c.commitment.planned_date
        for c in episode.commitments
        if c.outcome is CommitmentOutcome.ATTENDED
    ]
    return ClientJourney(
        keyworker_id=episode.keyworker_id,
        team_id=episode.team_id,
        introduced_on=episode.sessions[0].held_on,
        status=episode.status,
        organisation=first.commitment.meeting.organisation if first else None,
        committed_on=first.made_on if first else None,
        first_meeting_on=min(met) if met else None,
        ended_on=episode.ended_on,
        obstacles=frozenset(o.record.obstacle for o in episode.obstacles),
        accompaniment_arranged=bool(episode.accompaniments),
        accompaniment_used=any(
            a.outcome is AccompanimentOutcome.ACCOMPANIED for a in episode.accompaniments
        ),
    )


def overlap_of(
    first: tuple[dt.date | None, dt.date | None], second: tuple[dt.date | None, dt.date | None]
) -> tuple[dt.date | None, dt.date | None] | None:
    """The days two periods (start, end; ``None`` open) share, or ``None`` when disjoint."""
    starts = [d for d in (first[0], second[0]) if d is not None]
    ends = [d for d in (first[1], second[1]) if d is not None]
    start, end = (max(starts) if starts else None), (min(ends) if ends else None)
    if start is not None and end is not None and start > end:
        return None
    return start, end


def journeys_from_caseload(
    caseload: Iterable[ClientState], *, start: dt.date | None = None, end: dt.date | None = None
) -> list[ClientJourney]:
    """One journey per client: their latest episode with session 1 held within [start, end]."""
    out = []
    for client in caseload:
        for episode in reversed(client.episodes):
            journey = journey_of(episode)
            if journey is None:
                continue
            if (start is None or journey.introduced_on >= start) and (
                end is None or journey.introduced_on <= end
            ):
                out.append(journey)
                break
    return out


class GroupFigures(FamaModel):
    """The published figures of one group; ``None`` means withheld."""

    dimension: Dimension
    group: str
    counts: dict[str, int | None] = Field(description="Clients per measure (COUNT_MEASURES).")
    medians: dict[str, float | None] = Field(
        description="Median days between stages; None when fewer clients than the threshold."
    )
    quartiles: dict[str, tuple[float, float] | None] = Field(
        default_factory=dict,
        description="25th and 75th percentiles of the days between stages, beside each median "
        "(inclusive method); None when the median is withheld, or when fewer than threshold "
        "clients would lie at or beyond either percentile (fewer than 4 x threshold - 3).",
    )
    within: tuple[str, ...] = Field(
        default=(),
        description="For a keyworker: the teams its clients' episodes were opened in.",
    )


class ObstacleFigure(FamaModel):
    """How many clients raised one obstacle (hand-outs 3 and 5); ``None`` means withheld."""

    obstacle: Obstacle
    clients: int | None


class AccessReport(FamaModel):
    """The published access figures: safe to print, file and share."""

    threshold: int = Field(description="Counts of 1 to threshold-1 clients are withheld.")
    protection: int = Field(
        description="Protection interval: every withheld small count could be any of at least "
        "this many more values given everything published (its feasible range is this wide)."
    )
    period_start: dt.date | None
    period_end: dt.date | None
    groups: tuple[GroupFigures, ...]
    obstacles: tuple[ObstacleFigure, ...] = Field(
        description="Obstacles by clients raising them, most raised first."
    )
    withheld: int = Field(description="How many counts are withheld (primary and secondary).")

    def group(self, dimension: Dimension, label: str) -> GroupFigures:
        """The figures of one group; ``KeyError`` when there is no such group."""
        for g in self.groups:
            if g.dimension is dimension and g.group == label:
                return g
        raise KeyError(f"no group {label!r} in dimension {dimension.value}")

    def groups_of(self, dimension: Dimension) -> tuple[GroupFigures, ...]:
        """Every group of one dimension, in report order."""
        return tuple(g for g in self.groups if g.dimension is dimension)

    @property
    def area(self) -> GroupFigures:
        """The whole-area figures."""
        return self.group(Dimension.AREA, AREA)


def _label(journey: ClientJourney, dimension: Dimension) -> str:
    if dimension is Dimension.AREA:
        return AREA
    if dimension is Dimension.ORGANISATION:
        return journey.organisation or NO_ORGANISATION
    if dimension is Dimension.KEYWORKER:
        return journey.keyworker_id
    if dimension is Dimension.TEAM:
        return journey.team_id or NO_TEAM
    return f"{journey.introduced_on.year:04d}-{journey.introduced_on.month:02d}"


def _median(values: list[int]) -> float:
    return float(statistics.median(values))


def percentile_clients(threshold: int) -> int:
    """The fewest clients whose 25th and 75th percentiles of days may be published.

    Each percentile marks the edge of a quarter of the group: the quickest clients, at or below
    the 25th, and the slowest, at or above the 75th. Both quarters must hold at least
    ``threshold`` clients, the least any published count describes (``docs/decisions.md``, E5).
    With the inclusive method ``(n - 1) // 4 + 1`` of ``n`` clients lie at or beyond each
    percentile, so they are shown from ``4 * threshold - 3`` clients (17 at the default 5); at
    5 clients they would be the exact days of the second and the fourth.
    """
    return max(1, 4 * threshold - 3)


def _quartiles(values: list[int]) -> tuple[float, float]:
    """25th and 75th percentiles, interpolated between the clients' own values."""
    if len(values) == 1:
        return float(values[0]), float(values[0])
    low, _mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return float(low), float(high)


@dataclass(frozen=True, slots=True)
class AccessCells:
    """Every count before suppression, and how they add up: for the analysis and for audits.

    Keys are ``(dimension, group, measure)``. Never print these: they are the
    raw counts; :func:`analyse_access` publishes them after suppression.
    """

    published: dict[Key, int]
    """The counts a report shows (COUNT_MEASURES per group)."""
    hidden: dict[Key, int]
    """Counts never shown but derivable: differences of two shown counts, and the
    clients of a keyworker within each of its teams when it has several."""
    relations: tuple[Relation[Key], ...]
    """Every way the counts add up (:data:`RELATION_RULES`)."""
    members: dict[tuple[Dimension, str], list[ClientJourney]]
    """The journeys in each group."""
    within: dict[str, tuple[str, ...]]
    """Keyworker to the teams its clients' episodes were opened in (published)."""
    floors: dict[Key, int]
    """Lower bounds a reader knows for hidden counts (one client at least per listed team)."""


RELATION_RULES: tuple[str, ...] = (
    "within each group: introduced = engaged + declined + closed + in progress",
    "within each group: each difference (introduced - committed, introduced - first meeting, "
    "committed - engaged, first meeting - engaged, introduced - accompaniment arranged, "
    "arranged - used) is a count of clients",
    "each split (organisation, keyworker, team, month) adds up to the area, measure by measure",
    "an organisation group holds clients who committed: its committed equals its introduced; "
    "'none chosen' has nobody committed",
    "keyworkers sit within teams: a team adds up to its keyworkers (a keyworker in several "
    "teams contributes its clients within each, at least one in each)",
    "every client who raised an obstacle was introduced: the area's introduced is each "
    "obstacle's count plus the clients who did not raise it (a count of clients)",
    "a row is listed only when somebody is in it: every listed group has at least one client, "
    "every listed obstacle at least one client raising it",
    "a median is shown only beside its shown counts and for at least threshold clients; its "
    "percentiles only when at least threshold clients lie at or beyond each",
    "across reports: the days of all the periods cut into atoms, each a table with every "
    "relation above and none negative; each report's every count (a keyworker's clients within "
    "each team included) is the sum of its atoms'",
)
"""The relations suppression protects against, as a reader would state them (docs)."""

SUPPRESSION_TIERS: dict[str, int] = {Dimension.AREA.value: 2, Dimension.TEAM.value: 1}
"""How much a commissioner needs each dimension's counts, for the choice of complements.

The area-wide figures are what a commissioner reads first (tier 2); a team
is a total of its keyworkers (tier 1); keyworkers, organisations and months
are inner cells (tier 0). Suppression withholds a count of a higher tier only
when counts of lower tiers cannot protect the small ones, and within a tier
the smaller counts (a later stage, a smaller group) first
(:func:`~fama_core.commissioning.suppression.suppress`, ``docs/decisions.md``).
"""

KEYWORKER_IN_TEAM = "keyworker_in_team"
"""The dimension name of a keyworker's clients within one team (hidden, never published)."""


def _group_relations(d: str, label: str) -> list[Relation[Key]]:
    out = [
        Relation((d, label, whole), ((d, label, part), (d, label, name)))
        for name, whole, part in _DIFFERENCES
    ]
    out.append(Relation((d, label, "introduced"), tuple((d, label, e) for e in _ENDS)))
    return out


def _count(group: Iterable[ClientJourney], d: str, label: str) -> dict[Key, int]:
    counts = {(d, label, m): 0 for m in COUNT_MEASURES}
    for journey in group:
        for m in journey.measures():
            counts[(d, label, m)] += 1
    return counts


def _differences(counts: Mapping[Key, int], d: str, label: str) -> dict[Key, int]:
    return {
        (d, label, name): counts[(d, label, whole)] - counts[(d, label, part)]
        for name, whole, part in _DIFFERENCES
    }


def access_cells(
    journeys: Iterable[ClientJourney],
    *,
    groups: Iterable[tuple[Dimension, str]] = (),
    chart: Mapping[str, tuple[str, ...]] | None = None,
) -> AccessCells:
    """Count every group's measures and list the relations between the counts.

    ``groups`` are groups to count even when empty, and ``chart`` (keyworker
    to teams) the org chart to split keyworkers by instead of the journeys'
    own: a stretch of days nobody publishes (:func:`period_atoms`) is
    counted over every group and pair a reader knows of, each possibly
    empty. Floors (a listed group has a client) are only for what the
    journeys themselves list.
    """
    rows = list(journeys)
    published: dict[Key, int] = {}
    members: dict[tuple[Dimension, str], list[ClientJourney]] = {}
    for journey in rows:
        for dim in Dimension:
            members.setdefault((dim, _label(journey, dim)), []).append(journey)
    listed = set(members)
    members[(Dimension.AREA, AREA)] = members.get((Dimension.AREA, AREA), [])
    for empty in groups:
        members.setdefault(empty, [])
    for (dim, label), group in members.items():
        published.update(_count(group, dim.value, label))
    hidden: dict[Key, int] = {}
    relations: list[Relation[Key]] = []
    for dim, label in members:
        hidden.update(_differences(published, dim.value, label))
        relations += _group_relations(dim.value, label)
    every = [*COUNT_MEASURES, *(n for n, _w, _p in _DIFFERENCES)]
    for dim in Dimension:
        labels = [label for d, label in members if d is dim]
        if dim is Dimension.AREA or not labels:
            continue
        for m in every:
            relations.append(
                Relation(
                    (Dimension.AREA.value, AREA, m), tuple((dim.value, lb, m) for lb in labels)
                )
            )
    # An organisation group is its clients' first commitment: all of them committed.
    org = Dimension.ORGANISATION.value
    for dim, label in members:
        if dim is Dimension.ORGANISATION:
            if label == NO_ORGANISATION:
                relations.append(Relation((org, label, "committed"), ()))
            else:
                relations.append(Relation((org, label, "introduced"), ((org, label, "committed"),)))
    # Keyworkers within teams, through their clients within each team.
    by_pair: dict[tuple[str, str], list[ClientJourney]] = {}
    for journey in rows:
        by_pair.setdefault((journey.keyworker_id, journey.team_id or NO_TEAM), []).append(journey)
    within: dict[str, tuple[str, ...]] = {}
    for kw, team in sorted(by_pair):
        within[kw] = (*within.get(kw, ()), team)
    # A group is listed because it has a client: a reader knows its introduced is at least 1.
    floors: dict[Key, int] = {
        (dim.value, label, "introduced"): 1 for dim, label in listed if dim is not Dimension.AREA
    }
    if chart is not None:
        within = {kw: tuple(teams) for kw, teams in chart.items()}
    team_parts: dict[str, dict[str, list[Key]]] = {}
    kw_dim, team_dim = Dimension.KEYWORKER.value, Dimension.TEAM.value
    for kw, teams in within.items():
        for team in teams:
            parts = team_parts.setdefault(team, {m: [] for m in every})
            if len(teams) == 1:
                for m in every:
                    parts[m].append((kw_dim, kw, m))
                continue
            label = f"{kw} in {team}"
            counts = _count(by_pair.get((kw, team), ()), KEYWORKER_IN_TEAM, label)
            hidden.update(counts)
            hidden.update(_differences(counts, KEYWORKER_IN_TEAM, label))
            relations += _group_relations(KEYWORKER_IN_TEAM, label)
            if (kw, team) in by_pair:
                floors[(KEYWORKER_IN_TEAM, label, "introduced")] = 1
            for m in every:
                parts[m].append((KEYWORKER_IN_TEAM, label, m))
        if len(teams) > 1:
            for m in every:
                relations.append(
                    Relation(
                        (kw_dim, kw, m),
                        tuple((KEYWORKER_IN_TEAM, f"{kw} in {t}", m) for t in teams),
                    )
                )
    for team, parts in team_parts.items():
        for m in every:
            relations.append(Relation((team_dim, team, m), tuple(parts[m])))
    broken = check_relations({**published, **hidden}, relations)
    if broken:  # a bug here, not bad input: refuse to publish figures that do not add up
        raise AssertionError(f"{len(broken)} access relations do not add up")
    return AccessCells(published, hidden, tuple(relations), members, within, floors)


@dataclass(frozen=True, slots=True)
class EarlierReport:
    """A report already published whose period overlaps this one's: a reader may difference them.

    ``published`` is what it showed; ``journeys`` are its period's journeys,
    from the records this report is built from (:func:`journeys_from_caseload`
    with its period). Differences are exact only when both reports come from
    the same records, as a quarter and a year to date built together do; when
    the records have changed since, :func:`analyse_access` refuses the earlier
    report rather than pretend to check it. ``overlap`` (the journeys of the
    days both periods share) is no longer used: every stretch of days is
    counted from the reports' own journeys (:func:`period_atoms`); it stays so
    that callers that pass it keep working.
    """

    published: AccessReport
    journeys: tuple[ClientJourney, ...]
    overlap: tuple[ClientJourney, ...] = ()


def _rekey(prefix: str, key: Key) -> Key:
    return (f"{prefix}{key[0]}", key[1], key[2])


def _place_earlier(
    value: int | None, true: int, key: Key, n: int, fixed: dict[Key, int], hidden: dict[Key, int]
) -> None:
    """File one figure of earlier report ``n``: shown (``fixed``) or withheld (``hidden``).

    A shown figure that the records no longer give is refused: differences with a report the
    records cannot reproduce cannot be checked.
    """
    if value is None:
        hidden[key] = true
    elif value != true:
        raise InputUnreadable(
            source=f"earlier report {n + 1}",
            reason="its figures cannot be reproduced from these records (they have "
            "changed since it was made), so differences with it cannot be checked; "
            "build both reports from the same records",
        )
    else:
        fixed[key] = value


def period_atoms(periods: Iterable[Period]) -> list[Period]:
    """The stretches of days each of ``periods`` holds whole or misses, in order (its *atoms*).

    Cut at every period's first day and at the day after its last; only the
    stretches some period holds are kept. Each period is the union of the
    atoms inside it, so a reader of several reports knows each report's
    counts as the sums of its atoms' counts, whatever else it knows.
    """
    spans = list(periods)
    cuts = sorted(
        {p[0] for p in spans if p[0] is not None}
        | {p[1] + dt.timedelta(days=1) for p in spans if p[1] is not None}
    )
    edges: list[dt.date | None] = [None, *cuts, None]
    out: list[Period] = []
    for start, after in zip(edges, edges[1:], strict=False):
        span = (start, None if after is None else after - dt.timedelta(days=1))
        if any(_within(span, p) for p in spans):
            out.append(span)
    return out


def _in_span(journey: ClientJourney, span: Period) -> bool:
    return (span[0] is None or journey.introduced_on >= span[0]) and (
        span[1] is None or journey.introduced_on <= span[1]
    )


@dataclass(frozen=True, slots=True)
class _Reported:
    """One report in the differencing model: its tag, cells, period, obstacles."""

    tag: str
    cells: AccessCells
    period: Period
    obstacles: dict[Key, int]
    journeys: tuple[ClientJourney, ...]


def _earlier_cells(
    earlier: list[EarlierReport],
    this: AccessCells,
    this_rows: Iterable[ClientJourney],
    this_period: Period,
    this_raised: Mapping[Obstacle, int],
) -> tuple[dict[Key, int], dict[Key, int], list[Relation[Key]], dict[Key, int]]:
    """What a reader of this report and the earlier ones knows: fixed, hidden, relations, floors.

    Each earlier report's shown counts are fixed, its withheld ones unknown, with
    every relation and floor of its own. The days of all the periods are cut
    into atoms (:func:`period_atoms`), each a table of counts nobody publishes
    (every group and keyworker-within-team pair any report lists, each possibly
    empty; a month apart from the atom holds nobody), and each report's count
    is the sum of its atoms' counts: a group, obstacle or keyworker-within-team
    pair a report does not list has nobody there (C35).
    """
    intro = (Dimension.AREA.value, AREA, "introduced")
    reports = [
        _Reported(
            "",
            this,
            this_period,
            _obstacle_cells(this_raised, this.published.get(intro, 0))[0],
            tuple(this_rows),
        )
    ]
    fixed: dict[Key, int] = {}
    hidden: dict[Key, int] = {}
    relations: list[Relation[Key]] = []
    floors: dict[Key, int] = {}
    for n, before in enumerate(earlier):
        tag = f"earlier {n}:"
        cells = access_cells(before.journeys)
        shown_groups = set()
        for g in before.published.groups:
            shown_groups.add((g.dimension.value, g.group))
            for m in COUNT_MEASURES:
                key = (g.dimension.value, g.group, m)
                true = cells.published.get(key, 0)
                _place_earlier(g.counts[m], true, _rekey(tag, key), n, fixed, hidden)
        for dim, label in cells.members:
            if (dim.value, label) not in shown_groups:
                raise InputUnreadable(
                    source=f"earlier report {n + 1}",
                    reason=f"a {dim.value} group it should show is missing",
                )
        hidden.update({_rekey(tag, k): v for k, v in cells.hidden.items()})
        relations += [_retag(tag, r) for r in cells.relations]
        floors.update({_rekey(tag, k): v for k, v in cells.floors.items()})
        shown_obstacles = {o.obstacle: o.clients for o in before.published.obstacles}
        ob_shown, ob_hidden, ob_relations = _obstacle_cells(
            obstacle_counts(before.journeys), cells.published.get(intro, 0)
        )
        for key, true in ob_shown.items():
            value = shown_obstacles.get(Obstacle(key[1]), 0)
            _place_earlier(value, true, _rekey(tag, key), n, fixed, hidden)
            if true:  # listed: somebody raised it
                floors[_rekey(tag, key)] = 1
        hidden.update({_rekey(tag, k): v for k, v in ob_hidden.items()})
        relations += [_retag(tag, r) for r in ob_relations]
        period = (before.published.period_start, before.published.period_end)
        reports.append(_Reported(tag, cells, period, ob_shown, before.journeys))
    # Every group and keyworker-within-team pair a reader knows of, from every report.
    groups = sorted({g for r in reports for g in r.cells.members}, key=lambda g: (g[0], g[1]))
    chart: dict[str, set[str]] = {}
    for r in reports:
        for kw, teams in r.cells.within.items():
            chart.setdefault(kw, set()).update(teams)
    union = {kw: tuple(sorted(teams)) for kw, teams in sorted(chart.items())}
    atoms = period_atoms(r.period for r in reports)
    atom_values: list[dict[Key, int]] = []
    for i, span in enumerate(atoms):
        tag = f"atom {i}:"
        source = next(r for r in reports if _within(span, r.period))
        rows = [j for j in source.journeys if _in_span(j, span)]
        cells = access_cells(rows, groups=groups, chart=union)
        ob_shown, ob_hidden, ob_relations = _obstacle_cells(
            obstacle_counts(rows), cells.published.get(intro, 0)
        )
        values = {**cells.published, **cells.hidden, **ob_shown}
        atom_values.append(values)
        hidden.update({_rekey(tag, k): v for k, v in values.items()})
        hidden.update({_rekey(tag, k): v for k, v in ob_hidden.items()})
        relations += [_retag(tag, r) for r in (*cells.relations, *ob_relations)]
        for dim, label in groups:  # a month apart from the atom holds nobody, as a reader knows
            if dim is Dimension.MONTH and _apart(_month_span(label), span):
                for m in COUNT_MEASURES:
                    key = _rekey(tag, (dim.value, label, m))
                    if hidden.get(key) == 0:
                        del hidden[key]
                        fixed[key] = 0
    # Each report's count is the sum of its atoms'; where a client with several episodes makes
    # them differ, the difference is an unknown of its own (the reader's sum would be wrong).
    linked: list[Key] = [(dim.value, label, m) for dim, label in groups for m in COUNT_MEASURES]
    linked += [
        (KEYWORKER_IN_TEAM, f"{kw} in {team}", m)
        for kw, teams in union.items()
        for team in teams
        for m in COUNT_MEASURES
    ]
    linked += list(reports[0].obstacles)
    for r in reports:
        values = {**r.cells.published, **r.cells.hidden, **r.obstacles}
        for kw, teams in r.cells.within.items():  # a keyworker's clients within each team
            for team in teams:
                for m in COUNT_MEASURES:
                    own = (KEYWORKER_IN_TEAM, f"{kw} in {team}", m)
                    if len(teams) == 1:
                        values[own] = values[(Dimension.KEYWORKER.value, kw, m)]
        inside = [i for i, span in enumerate(atoms) if _within(span, r.period)]
        for key in linked:
            mine, value = _reported_cell(r, key, values)
            if mine is None:  # a report lists nobody there: a known zero
                mine = _rekey(f"{r.tag}absent ", key)
                fixed[mine] = 0
            parts = []
            total = 0
            for i in inside:
                atom_key = _atom_key(key, union)
                parts.append(_rekey(f"atom {i}:", atom_key))
                total += atom_values[i].get(atom_key, 0)
            if value != total:
                rest = _rekey(f"{r.tag}several episodes ", key)
                hidden[rest] = value - total
                parts.append(rest)
            relations.append(Relation(mine, tuple(parts)))
    return fixed, hidden, relations, floors


def _atom_key(key: Key, chart: Mapping[str, tuple[str, ...]]) -> Key:
    """The key of ``key``'s count in an atom split by ``chart`` (a single team: the keyworker)."""
    if key[0] != KEYWORKER_IN_TEAM:
        return key
    kw = _keyworker_of(key[1], chart)
    if len(chart[kw]) == 1:
        return (Dimension.KEYWORKER.value, kw, key[2])
    return key


def _keyworker_of(label: str, chart: Mapping[str, tuple[str, ...]]) -> str:
    """The keyworker of a "<keyworker> in <team>" label (keyworker ids may hold " in ")."""
    for kw, teams in chart.items():
        for team in teams:
            if label == f"{kw} in {team}":
                return kw
    raise KeyError("no such keyworker within a team")


def _reported_cell(r: _Reported, key: Key, values: Mapping[Key, int]) -> tuple[Key | None, int]:
    """Report ``r``'s cell for ``key`` and its true count; ``None`` when it lists nobody there.

    A keyworker listed in one team has its own counts as its clients within that team.
    """
    if key not in values:
        return None, 0
    if key[0] == KEYWORKER_IN_TEAM and key not in r.cells.hidden:
        kw = _keyworker_of(key[1], r.cells.within)
        return _rekey(r.tag, (Dimension.KEYWORKER.value, kw, key[2])), values[key]
    return _rekey(r.tag, key), values[key]


def _retag(tag: str, rel: Relation[Key]) -> Relation[Key]:
    return Relation(_rekey(tag, rel.total), tuple(_rekey(tag, p) for p in rel.parts))


OBSTACLE = "obstacle"
"""The dimension name of obstacle counts in the suppression model (``(OBSTACLE, code, m)``)."""


def obstacle_counts(journeys: Iterable[ClientJourney]) -> dict[Obstacle, int]:
    """How many clients raised each obstacle (only those raised at all)."""
    raised: dict[Obstacle, int] = {}
    for journey in journeys:
        for o in journey.obstacles:
            raised[o] = raised.get(o, 0) + 1
    return raised


def _obstacle_cells(
    raised: Mapping[Obstacle, int], introduced: int
) -> tuple[dict[Key, int], dict[Key, int], list[Relation[Key]]]:
    """Obstacle counts as cells: shown ones, hidden "not raised", and how they add up.

    Every client who raised an obstacle was introduced: the area's introduced is
    each obstacle's count plus the clients who did not raise it. A shown obstacle
    count is thus a floor under the area's introduced, and a reader of two reports
    can difference their obstacle counts like any other.
    """
    shown: dict[Key, int] = {}
    hidden: dict[Key, int] = {}
    relations: list[Relation[Key]] = []
    area = (Dimension.AREA.value, AREA, "introduced")
    for o in Obstacle:
        count = (OBSTACLE, o.value, "clients")
        rest = (OBSTACLE, o.value, "not_raised")
        shown[count] = raised.get(o, 0)
        hidden[rest] = introduced - shown[count]
        relations.append(Relation(area, (count, rest)))
    return shown, hidden, relations


Period = tuple[dt.date | None, dt.date | None]
"""First and last day of a period; ``None`` leaves that end open."""


def _within(inner: Period, outer: Period) -> bool:
    return (outer[0] is None or (inner[0] is not None and inner[0] >= outer[0])) and (
        outer[1] is None or (inner[1] is not None and inner[1] <= outer[1])
    )


def _apart(span: Period, period: Period) -> bool:
    return (period[0] is not None and span[1] is not None and span[1] < period[0]) or (
        period[1] is not None and span[0] is not None and span[0] > period[1]
    )


def _month_span(label: str) -> Period:
    year, month = int(label[:4]), int(label[5:7])
    first = dt.date(year, month, 1)
    return first, dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def analyse_access(
    journeys: Iterable[ClientJourney],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    organisation_order: Iterable[str] = (),
    protection: int | None = None,
    earlier: Iterable[EarlierReport] = (),
) -> AccessReport:
    """Count the funnel per group, withhold small counts, and return what may be published.

    ``organisation_order`` lists organisation codes in the order to report
    them (the catalogue's); others follow alphabetically, "none chosen" last.
    ``protection`` is the protection interval (default: the threshold): how
    wide the range of values consistent with everything published must be
    for every withheld small count
    (:func:`~fama_core.commissioning.suppression.suppress`). ``earlier`` are
    reports already published whose periods overlap this one: suppression
    also keeps every difference between them protected.
    """
    rows = list(journeys)
    cells = access_cells(rows)
    published, members = cells.published, cells.members
    # In a group of 1 to threshold-1 clients even a zero describes each member
    # ("none of them engaged"), so every count of such a group is withheld.
    tiny = [
        (dim.value, label, m)
        for dim, label in members
        if 0 < published[(dim.value, label, "introduced")] < threshold
        for m in COUNT_MEASURES
    ]
    hidden = dict(cells.hidden)
    relations = list(cells.relations)
    floors = dict(cells.floors)
    fixed: dict[Key, int] = {}
    earlier = list(earlier)
    earlier_given = bool(earlier)
    # Obstacles are cells too: a shown count is a floor under the area's introduced. One
    # nobody raised is not listed, which says it is 0: known, never a complement.
    raised = obstacle_counts(rows)
    ob_shown, ob_hidden, ob_relations = _obstacle_cells(
        raised, published[(Dimension.AREA.value, AREA, "introduced")]
    )
    published = {**published, **{k: v for k, v in ob_shown.items() if v}}
    fixed.update({k: v for k, v in ob_shown.items() if not v})
    floors.update({k: 1 for k, v in ob_shown.items() if v})  # listed: somebody raised it
    hidden.update(ob_hidden)
    relations += ob_relations
    if earlier:
        more_fixed, more_hidden, more_relations, more_floors = _earlier_cells(
            earlier, cells, rows, (period_start, period_end), raised
        )
        fixed.update(more_fixed)
        hidden.update(more_hidden)
        relations += more_relations
        floors.update(more_floors)
    try:
        withheld = suppress(
            published,
            hidden,
            relations,
            threshold,
            also=tiny,
            protection=protection,
            floors=floors,
            fixed=fixed,
            tiers={key: SUPPRESSION_TIERS.get(key[0], 0) for key in published},
        )
    except Unprotectable:
        if not earlier_given:  # nothing published before: a bug, not a refusal
            raise
        # Even withholding every count of this report would let a reader narrow a count
        # the earlier report withheld: refuse rather than publish anything of it.
        raise InputUnreadable(
            source="earlier reports",
            reason="this report and the earlier ones together would give away counts the "
            "earlier ones withheld, whatever this one withholds; publish this period without "
            "them only if they were never published, or choose a period that does not overlap "
            "theirs",
        ) from None

    order = {code: i for i, code in enumerate(organisation_order)}

    def sort_key(item: tuple[Dimension, str]) -> tuple[int, int, str]:
        dim, label = item
        dim_rank = list(Dimension).index(dim)
        if dim is Dimension.ORGANISATION:
            rank = len(order) + 1 if label == NO_ORGANISATION else order.get(label, len(order))
            return (dim_rank, rank, label)
        return (dim_rank, 1 if label == NO_TEAM else 0, label)

    groups = []
    for dim, label in sorted(members, key=sort_key):
        key_counts = {
            m: (None if (dim.value, label, m) in withheld else published[(dim.value, label, m)])
            for m in COUNT_MEASURES
        }
        samples: dict[str, list[int]] = {m: [] for m in MEDIAN_MEASURES}
        for journey in members[(dim, label)]:
            for m, days in journey.intervals().items():
                samples[m].append(days)
        # Shown for at least threshold clients, and only beside the counts that hold them: a
        # median withheld beside a withheld count would say that count is below the threshold.
        enough = {
            m: bool(v)
            and len(v) >= threshold
            and not any((dim.value, label, h) in withheld for h in MEDIAN_SAMPLES[m])
            for m, v in samples.items()
        }
        medians = {m: (_median(v) if enough[m] else None) for m, v in samples.items()}
        quartiles = {
            m: (_quartiles(v) if enough[m] and len(v) >= percentile_clients(threshold) else None)
            for m, v in samples.items()
        }
        groups.append(
            GroupFigures(
                dimension=dim,
                group=label,
                counts=key_counts,
                medians=medians,
                quartiles=quartiles,
                within=cells.within.get(label, ()) if dim is Dimension.KEYWORKER else (),
            )
        )

    # Shown obstacles most raised first; withheld ones after, in the hand-outs' order,
    # so their position says nothing about their size.
    catalogue_rank = {o: i for i, o in enumerate(Obstacle)}
    kept_back = {o for o in raised if (OBSTACLE, o.value, "clients") in withheld}
    shown = sorted(
        (o for o in raised if o not in kept_back),
        key=lambda o: (-raised[o], catalogue_rank[o]),
    )
    obstacles = (
        *(ObstacleFigure(obstacle=o, clients=raised[o]) for o in shown),
        *(
            ObstacleFigure(obstacle=o, clients=None)
            for o in sorted(kept_back, key=catalogue_rank.__getitem__)
        ),
    )
    return AccessReport(
        threshold=threshold,
        protection=threshold if protection is None else protection,
        period_start=period_start,
        period_end=period_end,
        groups=tuple(groups),
        obstacles=obstacles,
        withheld=len(withheld),
    )
