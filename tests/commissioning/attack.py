"""An attacker on the published report, independent of fama's suppression code.

It reads only what a report publishes (``figures.csv`` and ``report.json``)
and what ``docs/commissioning.md`` says the figures mean, rebuilds every
relation between the counts from those definitions, and asks an integer
linear-programming solver (scipy's HiGHS ``milp``) for the smallest and largest
value each withheld count, and each count a reader can derive, can take.

Nothing here imports ``fama_core.commissioning``: the relations are written
out again from the definitions, so a relation the code forgot is one this
audit still uses.

What the attacker knows (the definitions, ``docs/commissioning.md``):

* in every group, introduced = engaged + declined + closed + in progress;
  committed, first meeting and accompaniment arranged are subsets of
  introduced; engaged is a subset of committed and of first meeting;
  accompaniment used is a subset of arranged;
* every split (organisation, keyworker, team, month) covers every client of
  the area once;
* an organisation group is made of clients who committed: its committed equals
  its introduced, and the sum of organisation groups other than "none chosen"
  is the area's committed; "none chosen" has nobody committed;
* keyworkers sit within teams (the org chart, which the report publishes as
  each keyworker's ``within``): a team is the sum of its keyworkers' clients;
  a keyworker listed in several teams has at least one client in each;
* every obstacle count is at most the area's introduced;
* a row is listed only when somebody is in it: a listed group's introduced and
  a listed obstacle's count are at least 1;
* a median is shown for at least *threshold* clients and only beside the
  counts its clients come from: shown, its clients are at least the
  threshold; withheld beside shown counts, fewer;
* across reports of periods built from the same records on the same day
  (``overlapping``: differencing), the days are cut into atoms, stretches
  each period holds whole or misses; each atom is a table with every relation
  above (keyworkers within teams over the union of the org charts), none
  negative, and each report's count is the sum of its atoms'.

A withheld count is *disclosed* when its feasible range is narrower than the
protection interval the report states; a derived count (a difference, a
keyworker's clients within one team, a difference between two reports) is
disclosed when its feasible range lies inside 1 to threshold - 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import lil_matrix

MEASURES = (
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
ENDS = ("engaged", "declined", "closed", "in_progress")
SUBSETS = (  # (part, whole): part is a subset of whole, so whole - part is a count of people
    ("committed", "introduced"),
    ("first_meeting", "introduced"),
    ("engaged", "committed"),
    ("engaged", "first_meeting"),
    ("accompaniment_arranged", "introduced"),
    ("accompaniment_used", "accompaniment_arranged"),
)
NONE_CHOSEN = "none chosen"
_BIG = 10**7


@dataclass
class Published:
    """One report as the attacker reads it."""

    threshold: int
    protection: int
    cells: dict[tuple[str, str, str], int | None]
    """(dimension, group, measure) -> value, None when withheld."""
    obstacles: dict[str, int | None]
    within: dict[str, tuple[str, ...]]
    """keyworker -> the teams it sits in."""
    period: tuple[dt.date | None, dt.date | None] = (None, None)
    """The report's period (first and last session-1 date counted; None open)."""
    medians: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    """(dimension, group, median measure) -> whether the median (and its percentiles) is shown."""


def read_report(
    figures_csv: str, report_json: str, org_chart: dict[str, tuple[str, ...]] | None = None
) -> Published:
    """Parse the published files (and only them).

    ``org_chart`` (keyworker -> teams) is side knowledge an insider has
    whether or not the report publishes it; when given it is used instead of
    the report's own ``within``.
    """
    data = json.loads(report_json)
    access = data["access"]
    cells: dict[tuple[str, str, str], int | None] = {}
    obstacles: dict[str, int | None] = {}
    medians: dict[tuple[str, str, str], bool] = {}
    for row in csv.DictReader(io.StringIO(figures_csv)):
        if row["section"] == "access_median":
            medians[(row["dimension"], row["group"], row["measure"])] = row["value"] != ""
        if row["section"] not in ("access", "obstacles") or row["unit"] != "clients":
            continue
        value = None if row["value"] == "" else int(row["value"])
        if row["section"] == "access":
            cells[(row["dimension"], row["group"], row["measure"])] = value
        elif row["section"] == "obstacles":
            obstacles[row["measure"]] = value
    within = {
        g["group"]: tuple(g.get("within") or ())
        for g in access["groups"]
        if g["dimension"] == "keyworker"
    }
    return Published(
        threshold=access["threshold"],
        protection=access.get("protection", access["threshold"]),
        cells=cells,
        obstacles=obstacles,
        medians=medians,
        within=dict(org_chart) if org_chart is not None else within,
        period=tuple(
            None if access[k] is None else dt.date.fromisoformat(access[k])
            for k in ("period_start", "period_end")
        ),
    )


@dataclass
class _Model:
    index: dict[object, int] = field(default_factory=dict)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)
    seen: list[np.ndarray] = field(default_factory=list)

    def var(self, key: object, value: int | None = None, low: int = 0) -> int:
        if key not in self.index:
            self.index[key] = len(self.lower)
            self.lower.append(low)
            self.upper.append(_BIG)
        i = self.index[key]
        if value is not None:
            self.lower[i] = self.upper[i] = value
        else:
            self.lower[i] = max(self.lower[i], low)
        return i

    def eq(self, terms: dict[int, float]) -> None:
        self.rows.append((terms, 0, 0))

    def ge(self, terms: dict[int, float], bound: float = 0) -> None:
        self.rows.append((terms, bound, np.inf))

    def freeze(self) -> None:
        n = len(self.lower)
        a = lil_matrix((len(self.rows), n))
        lo, hi = [], []
        for r, (terms, low, high) in enumerate(self.rows):
            for i, coef in terms.items():
                a[r, i] += coef
            lo.append(low)
            hi.append(high)
        self._constraints = [LinearConstraint(a.tocsr(), lo, hi)] if self.rows else []

    def bounds(self, objective: dict[int, float]) -> tuple[float, float]:
        if all(self.lower[i] == self.upper[i] for i in objective):
            value = sum(c * self.lower[i] for i, c in objective.items())
            return value, value
        n = len(self.lower)
        constraints = self._constraints
        c = np.zeros(n)
        for i, coef in objective.items():
            c[i] = coef
        out = []
        for sign in (1, -1):
            res = milp(
                sign * c,
                integrality=np.ones(n),
                bounds=(self.lower, self.upper),
                constraints=constraints,
            )
            if res.status != 0:
                raise AssertionError(f"the published figures are inconsistent: {res.message}")
            self.seen.append(np.round(res.x))
            out.append(sign * res.fun)
        return out[0], out[1]

    def spread(self, objective: dict[int, float]) -> list[float]:
        """The target's values in the solutions found so far (each one a feasible point)."""
        return [sum(c * x[i] for i, c in objective.items()) for x in self.seen]


def _group_relations(m: _Model, key: callable) -> None:
    """The relations inside one group, its cells named by ``key(measure)``."""
    m.eq({m.var(key("introduced")): 1, **{m.var(key(e)): -1 for e in ENDS}})
    for part, whole in SUBSETS:
        m.ge({m.var(key(whole)): 1, m.var(key(part)): -1})


def _add_report(m: _Model, tag: object, rep: Published) -> list[tuple[str, object, dict]]:
    """Every relation of one report; returns what to attack: (kind, label, objective)."""
    targets: list[tuple[str, object, dict]] = []
    groups: dict[str, list[str]] = defaultdict(list)
    for (dim, group, measure), value in rep.cells.items():
        m.var((tag, dim, group, measure), value)
        if measure == "introduced":
            groups[dim].append(group)
        if value is None:
            targets.append(("withheld", (tag, dim, group, measure), {}))

    def cell(dim: str, group: str) -> callable:
        return lambda measure: (tag, dim, group, measure)

    for dim, labels in groups.items():
        for group in labels:
            _group_relations(m, cell(dim, group))
            if dim != "area":  # a group is listed because it has a client
                m.var(cell(dim, group)("introduced"), low=1)
            _median_relations(m, rep, cell(dim, group), (dim, group))
            for part, whole in SUBSETS:
                key = cell(dim, group)
                targets.append(
                    (
                        "derived",
                        (tag, dim, group, f"{whole}-{part}"),
                        {m.index[key(whole)]: 1, m.index[key(part)]: -1},
                    )
                )
        if dim == "area":
            continue
        for measure in MEASURES:
            m.eq(
                {
                    m.var((tag, "area", "all", measure)): 1,
                    **{m.var((tag, dim, g, measure)): -1 for g in labels},
                }
            )
    for org in groups.get("organisation", ()):
        o = cell("organisation", org)
        if org == NONE_CHOSEN:
            m.eq({m.var(o("committed")): 1})
        else:
            m.eq({m.var(o("committed")): 1, m.var(o("introduced")): -1})
    # keyworkers within teams: team = its single-team keyworkers + the shares of the others
    members: dict[str, dict[str, list[object]]] = defaultdict(lambda: defaultdict(list))
    for kw, teams in rep.within.items():
        if len(teams) == 1:
            for measure in MEASURES:
                members[teams[0]][measure].append((tag, "keyworker", kw, measure))
            continue
        for team in teams:
            share = cell("keyworker-in-team", f"{kw}@{team}")
            for measure in MEASURES:
                m.var(share(measure), low=1 if measure == "introduced" else 0)
                members[team][measure].append(share(measure))
            _group_relations(m, share)
            targets.append(("derived", share("introduced"), {m.index[share("introduced")]: 1}))
        for measure in MEASURES:
            m.eq(
                {
                    m.var((tag, "keyworker", kw, measure)): 1,
                    **{m.index[cell("keyworker-in-team", f"{kw}@{t}")(measure)]: -1 for t in teams},
                }
            )
    for team, by_measure in members.items():
        if (tag, "team", team, "introduced") not in m.index:
            continue
        for measure, parts in by_measure.items():
            m.eq({m.var((tag, "team", team, measure)): 1, **{m.var(p): -1 for p in parts}})
    for name, value in rep.obstacles.items():
        i = m.var((tag, "obstacle", name), value, low=1)  # listed: somebody raised it
        m.ge({m.var((tag, "area", "all", "introduced")): 1, i: -1})
        if value is None:
            targets.append(("withheld", (tag, "obstacle", name), {}))
    return targets


# The clients behind each median: (median, the counts that hold them, exactly equal or not).
MEDIAN_SAMPLES = (
    ("days_introduced_to_committed", ("committed",), True),
    ("days_committed_to_first_meeting", ("committed", "first_meeting"), False),
    ("days_first_meeting_to_engaged", ("first_meeting", "engaged"), False),
)


def _median_relations(m: _Model, rep: Published, key: callable, group: tuple[str, str]) -> None:
    """A median is shown only for at least *threshold* clients, and only beside the counts
    that hold its clients (docs): every committed client (the first), or some of the clients
    of two counts (the others). Withheld beside shown counts, it had too few clients."""
    for median, holders, exact in MEDIAN_SAMPLES:
        shown = rep.medians.get((*group, median))
        if shown is None:
            continue
        if exact:
            sample = m.var(key(holders[0]))
        else:
            sample = m.var(key(f"{median}:clients"))
            for holder in holders:
                m.ge({m.var(key(holder)): 1, sample: -1})
        if shown:
            m.ge({sample: 1}, rep.threshold)
        elif all(rep.cells.get((*group, h)) is not None for h in holders):
            m.ge({sample: -1}, -(rep.threshold - 1))  # beside shown counts: too few clients


def _true_value(truth: list[Published] | None, label: tuple) -> int | None:
    if truth is None:
        return None
    rep = truth[label[0]]
    if label[1] == "obstacle":
        return rep.obstacles[label[2]]
    return rep.cells[label[1:]]


def _month_span(label: str) -> tuple[dt.date, dt.date]:
    year, month = map(int, label.split("-"))
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def _inside(span: tuple, period: tuple) -> bool:
    """Whether ``span`` lies inside ``period`` (None: an open end)."""
    start, end = period
    return (start is None or (span[0] is not None and span[0] >= start)) and (
        end is None or (span[1] is not None and span[1] <= end)
    )


def _apart(span: tuple, period: tuple) -> bool:
    start, end = period
    return (start is not None and span[1] is not None and span[1] < start) or (
        end is not None and span[0] is not None and span[0] > end
    )


def atoms_of(periods: list[tuple]) -> list[tuple]:
    """The stretches of days every period either holds whole or misses (its *atoms*).

    Cut at every period's first day and at the day after its last; only the
    stretches at least one period holds are kept (None: an open end).
    """
    cuts = sorted(
        {p[0] for p in periods if p[0] is not None}
        | {p[1] + dt.timedelta(days=1) for p in periods if p[1] is not None}
    )
    edges = [None, *cuts, None]
    out = []
    for start, after in zip(edges, edges[1:], strict=False):
        span = (start, None if after is None else after - dt.timedelta(days=1))
        if any(_inside(span, p) for p in periods):
            out.append(span)
    return out


def _union_chart(reports: tuple[Published, ...]) -> dict[str, tuple[str, ...]]:
    chart: dict[str, set[str]] = defaultdict(set)
    for rep in reports:
        for kw, teams in rep.within.items():
            chart[kw].update(teams)
    return {kw: tuple(sorted(teams)) for kw, teams in sorted(chart.items())}


def _report_share(rep: Published, tag: int, kw: str, team: str, measure: str) -> object | None:
    """The cell of report ``tag`` holding keyworker ``kw``'s clients in ``team`` (None: 0)."""
    teams = rep.within.get(kw, ())
    if team not in teams:
        return None  # the report does not list the keyworker in that team: nobody there
    if len(teams) == 1:
        return (tag, "keyworker", kw, measure)
    return (tag, "keyworker-in-team", f"{kw}@{team}", measure)


def attack(
    *reports: Published,
    truth: list[Published] | None = None,
    overlapping: bool = False,
    atom_truth: dict[tuple, Published] | None = None,
) -> list[str]:
    """What the attacker works out from ``reports``; empty when nothing is disclosed.

    ``truth`` (the same reports with nothing withheld) is the judge's, not the
    attacker's: it says which withheld counts are *sensitive* (1 to
    threshold - 1 people), whose range must be at least the protection
    interval wide. A withheld zero of a tiny group, or a large count withheld
    as a complement, is not sensitive: it is disclosed only when the attacker
    can tell it is small (its range lies inside 1 to threshold - 1).

    With ``overlapping`` the reports cover periods that may overlap and were
    built from the same records on the same day, each client having one
    episode. The days are cut into *atoms* (:func:`atoms_of`): stretches
    each period holds whole or misses. Each atom is a table of counts of
    clients of its own, with every relation a report has (groups, splits,
    organisations, keyworkers within teams over the union of the published
    org charts, obstacles), no floors (an atom may hold nobody of a group),
    and each report's count is the sum of its atoms' (a group or obstacle a
    report does not list, and a keyworker it does not list in a team, has
    nobody there). A month apart from an atom has nobody in it.
    ``atom_truth`` (each atom's report with nothing withheld, by atom) tells
    the judge which atom counts are small.
    """
    m = _Model()
    targets = []
    for tag, rep in enumerate(reports):
        targets += _add_report(m, tag, rep)
    derived_truth: dict[tuple, int] = {}
    if overlapping:
        targets += _add_atoms(m, reports, atom_truth, derived_truth)
    m.freeze()
    found = []
    for kind, label, objective in targets:
        rep = reports[label[0]] if isinstance(label[0], int) else reports[0]
        if kind == "withheld":
            objective = {m.index[label]: 1}
        sensitive = False
        if kind == "withheld":
            true = _true_value(truth, label)
            sensitive = true is None or 1 <= true < rep.threshold
        elif label in derived_truth:
            sensitive = 1 <= derived_truth[label] < rep.threshold
        seen = m.spread(objective)
        if seen and (
            max(seen) - min(seen) >= rep.protection
            if sensitive
            else min(seen) < 1 or max(seen) >= rep.threshold
        ):
            continue  # two solutions already show the range is wide enough
        lo, hi = m.bounds(objective)
        lo, hi = round(lo), round(hi)
        if sensitive and hi - lo < rep.protection:
            found.append(f"{kind} {label}: between {lo} and {hi}")
        elif 1 <= lo and hi < rep.threshold:
            found.append(f"{kind} {label}: between {lo} and {hi}")
    return found


def _atom_cell(a: int) -> callable:
    """Cells of atom ``a``: ``_atom_cell(a)(dim, group)(measure)``."""
    return lambda dim, group: lambda measure: ("atom", a, dim, group, measure)


def _add_atoms(
    m: _Model,
    reports: tuple[Published, ...],
    atom_truth: dict[tuple, Published] | None,
    derived_truth: dict[tuple, int],
) -> list[tuple[str, object, dict]]:
    """The atoms of the reports' periods and how each report adds them up (see attack)."""
    targets: list[tuple[str, object, dict]] = []
    atoms = atoms_of([rep.period for rep in reports])
    chart = _union_chart(reports)
    groups = sorted({(d, g) for rep in reports for (d, g, me) in rep.cells if me == "introduced"})
    obstacles = sorted({o for rep in reports for o in rep.obstacles})
    for a, span in enumerate(atoms):
        cell = _atom_cell(a)
        known = atom_truth.get(span) if atom_truth is not None else None
        by_dim: dict[str, list[str]] = defaultdict(list)
        for dim, group in groups:
            key = cell(dim, group)
            _group_relations(m, key)
            by_dim[dim].append(group)
            if dim == "month" and _apart(_month_span(group), span):
                for measure in MEASURES:
                    m.var(key(measure), 0)
            for measure in MEASURES:
                label = key(measure)
                targets.append(("derived", label, {m.index[label]: 1}))
                if known is not None:
                    derived_truth[label] = known.cells.get((dim, group, measure), 0)
        for dim, labels in by_dim.items():
            if dim == "area":
                continue
            for measure in MEASURES:
                m.eq(
                    {
                        m.var(cell("area", "all")(measure)): 1,
                        **{m.var(cell(dim, g)(measure)): -1 for g in labels},
                    }
                )
        for org in by_dim.get("organisation", ()):
            o = cell("organisation", org)
            if org == NONE_CHOSEN:
                m.eq({m.var(o("committed")): 1})
            else:
                m.eq({m.var(o("committed")): 1, m.var(o("introduced")): -1})
        members: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for kw, teams in chart.items():
            for team in teams:
                share = cell("kw@team", f"{kw}@{team}")
                _group_relations(m, share)
                for measure in MEASURES:
                    members[team][measure].append(m.var(share(measure)))
            for measure in MEASURES:
                m.eq(
                    {
                        m.var(cell("keyworker", kw)(measure)): 1,
                        **{m.var(cell("kw@team", f"{kw}@{t}")(measure)): -1 for t in teams},
                    }
                )
        for team, by_measure in members.items():
            for measure, parts in by_measure.items():
                m.eq({m.var(cell("team", team)(measure)): 1, **{p: -1 for p in parts}})
        for name in obstacles:
            i = m.var(("atom", a, "obstacle", name))
            m.ge({m.var(cell("area", "all")("introduced")): 1, i: -1})
    # Each report is the sum of the atoms inside its period.
    for tag, rep in enumerate(reports):
        inside = [a for a, span in enumerate(atoms) if _inside(span, rep.period)]
        for dim, group in groups:
            for measure in MEASURES:
                key = (tag, dim, group, measure)
                m.var(key, None if key in m.index else 0)  # a group not shown has nobody
                m.eq(
                    {
                        m.index[key]: 1,
                        **{m.index[("atom", a, dim, group, measure)]: -1 for a in inside},
                    }
                )
        for kw, teams in chart.items():
            for team in teams:
                for measure in MEASURES:
                    mine = _report_share(rep, tag, kw, team, measure)
                    row = {
                        m.index[("atom", a, "kw@team", f"{kw}@{team}", measure)]: -1.0
                        for a in inside
                    }
                    if mine is not None:
                        row[m.var(mine)] = 1.0
                    m.eq(row)
        for name in obstacles:
            i = m.var((tag, "obstacle", name), None if name in rep.obstacles else 0)
            m.eq({i: 1, **{m.index[("atom", a, "obstacle", name)]: -1 for a in inside}})
    return targets


def table_ranges(
    values: dict, withheld: set, sums: list[tuple[object, tuple]]
) -> dict[object, tuple[int, int]]:
    """The range of each withheld cell of a hand-built table, given its shown cells.

    ``sums`` are (total, parts) as the test states them; every cell is a
    whole number at least 0.
    """
    m = _Model()
    for key, value in values.items():
        m.var(key, None if key in withheld else value)
    for total, parts in sums:
        m.eq({m.var(total): 1, **{m.var(p): -1 for p in parts}})
    m.freeze()
    out = {}
    for key in withheld:
        lo, hi = m.bounds({m.index[key]: 1})
        out[key] = (round(lo), round(hi))
    return out


COMPLETENESS = (
    "clients_in_treatment",
    "facilitation_recorded",
    "no_facilitation_in_treatment",
    "no_fama_record",
    "reviews_missing",
)


def _recording_cells(figures_csv: str) -> dict[tuple[str, str], int | None]:
    return {
        (row["group"], row["measure"]): None if row["value"] == "" else int(row["value"])
        for row in csv.DictReader(io.StringIO(figures_csv))
        if row["section"] == "ndtms_completeness"
    }


def attack_recording(
    figures_csv: str, truth_csv: str, *, threshold: int, protection: int
) -> list[str]:
    """The NDTMS recording table: in treatment = recorded + not recorded; no FAMA record is
    among those not recorded; keyworkers add up to the overall row ("all keyworkers")."""
    cells = _recording_cells(figures_csv)
    truth = _recording_cells(truth_csv)
    m = _Model()
    for key, value in cells.items():
        m.var(key, value)
    rows = sorted({group for group, _ in cells})
    overall = "all keyworkers"
    targets: list[tuple[str, tuple, dict, int | None]] = []
    for row in rows:
        c = lambda measure, r=row: m.index[(r, measure)]  # noqa: E731
        m.eq(
            {
                c("clients_in_treatment"): 1,
                c("facilitation_recorded"): -1,
                c("no_facilitation_in_treatment"): -1,
            }
        )
        m.ge({c("no_facilitation_in_treatment"): 1, c("no_fama_record"): -1})
        diff = {c("no_facilitation_in_treatment"): 1, c("no_fama_record"): -1}
        true = truth[(row, "no_facilitation_in_treatment")] - truth[(row, "no_fama_record")]
        targets.append(("derived", (row, "record_not_facilitated"), diff, true))
        for measure in COMPLETENESS:
            if cells[(row, measure)] is None:
                targets.append(("withheld", (row, measure), {c(measure): 1}, truth[(row, measure)]))
    keyworkers = [r for r in rows if r != overall]
    if keyworkers:
        for measure in COMPLETENESS:
            m.eq(
                {
                    m.index[(overall, measure)]: 1,
                    **{m.index[(k, measure)]: -1 for k in keyworkers},
                }
            )
    m.freeze()
    found = []
    for kind, label, objective, true in targets:
        sensitive = true is not None and 1 <= true < threshold
        lo, hi = (round(v) for v in m.bounds(objective))
        if sensitive and hi - lo < protection:
            found.append(f"{kind} {label}: between {lo} and {hi}")
        elif 1 <= lo and hi < threshold:
            found.append(f"{kind} {label}: between {lo} and {hi}")
    return found
