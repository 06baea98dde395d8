"""Small-count suppression: which published counts to withhold so that none can be worked back.

Counts of people between 1 and ``threshold - 1`` are *sensitive*: they are
withheld (*primary* suppression), and so are the counts a reader can derive
from shown ones (``hidden`` cells, such as "introduced but never committed")
when those are small. Zero is shown: it says nothing about any one person,
and "nobody was accompanied" is what a commissioner needs to see; callers
withhold the zeros of tiny groups through ``also`` (``docs/decisions.md``).

A reader who knows how the counts add up (every :class:`Relation`: a total
and its parts, a team and its keyworkers, two reports of nested periods) can
solve for a withheld count. So every sensitive count must keep a *feasible
range* at least the *protection interval* wide: over every assignment of
non-negative whole numbers to the unknown cells that agrees with everything
shown, the largest value of the cell minus the smallest is at least
``protection`` (by default the threshold, so a reader cannot tell a withheld
count from one that would have been shown). This is the protection interval
of statistical-disclosure tools such as tau-ARGUS and sdcTable (upper plus
lower protection level), checked exactly: each range is the minimum and
maximum of an integer linear programme solved by HiGHS
(``scipy.optimize.milp``). Where a range is too narrow, one more shown count
beside the exposed one is withheld (*secondary* suppression: the smallest
positive part of a relation the exposed cell is in), until every sensitive
count is protected. Withholding more only widens ranges, so the loop ends;
at worst everything is withheld and every range is unbounded.

Cells withheld only as complements (secondary) or through ``also`` are not
sensitive themselves: they need no protection interval, as in tau-ARGUS.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:  # scipy and numpy load when a range is first solved, not at import (CLI start-up)
    import numpy as np

__all__ = [
    "DEFAULT_THRESHOLD",
    "Relation",
    "check_relations",
    "feasible_ranges",
    "is_small",
    "suppress",
]

DEFAULT_THRESHOLD = 5
"""Counts of 1-4 people are withheld unless the caller chooses otherwise."""

_UNBOUNDED = 10**9
"""An upper bound no count of people reaches: a range reaching it is unbounded."""

K = TypeVar("K", bound=Hashable)
"""A cell's key: any hashable naming one count."""


@dataclass(frozen=True, slots=True)
class Relation(Generic[K]):
    """``total`` equals the sum of ``parts``: a way a reader could add counts up.

    A relation with no parts says the total is zero (a count that is empty by
    definition, such as "committed" among clients who chose no organisation).
    """

    total: K
    parts: tuple[K, ...]

    @property
    def terms(self) -> tuple[K, ...]:
        """The total followed by its parts."""
        return (self.total, *self.parts)


def is_small(value: int, threshold: int) -> bool:
    """Whether ``value`` people is a count to withhold (1 to ``threshold - 1``)."""
    return 0 < value < threshold


def check_relations(values: Mapping[K, int], relations: Iterable[Relation[K]]) -> list[Relation[K]]:
    """The relations that do not add up in ``values`` (a bug in whoever built them)."""
    return [r for r in relations if values[r.total] != sum(values[p] for p in r.parts)]


def suppress(
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    relations: Iterable[Relation[K]],
    threshold: int,
    *,
    also: Iterable[K] = (),
    protection: int | None = None,
    floors: Mapping[K, int] | None = None,
    fixed: Mapping[K, int] | None = None,
) -> frozenset[K]:
    """The keys of ``published`` to withhold.

    ``published`` are the counts a report would show, ``hidden`` the counts it
    never shows but a reader can derive, ``relations`` every way they add up.
    ``also`` are counts to withhold whatever their value (a zero in a tiny
    group says something about each member). ``threshold`` must be at least 1
    (1 withholds nothing but ``also``); ``protection`` (default: the
    threshold) is the width every sensitive count's feasible range must reach.
    ``floors`` are lower bounds a reader knows for hidden cells (a keyworker
    listed in a team has at least one client there); every other cell is at
    least 0. ``fixed`` are counts a reader already has and that cannot be
    withheld any more (an earlier report's shown counts).

    The quick rules relation by relation come first (a relation with one
    unknown left gives it away); then the exact ranges, withholding more until
    every sensitive count is protected.
    """
    width = threshold if protection is None else protection
    if width < 1:
        raise ValueError("the protection interval must be at least 1")
    rels = tuple(relations)
    known_floors = dict(floors or {})
    sensitive_hidden = {k for k, v in hidden.items() if is_small(v, threshold)}
    known = dict(fixed or {})
    withheld = set(_local(published, hidden, rels, threshold, also, known))
    sensitive = {k for k in withheld if is_small(published[k], threshold)} | sensitive_hidden
    to_check = set(sensitive)
    while to_check:
        ranges = feasible_ranges(
            published,
            hidden,
            rels,
            withheld,
            to_check,
            floors=known_floors,
            enough=width,
            fixed=known,
        )
        exposed = sorted(
            (k for k, (lo, hi) in ranges.items() if hi is not None and hi - lo < width), key=repr
        )
        if not exposed:
            return frozenset(withheld)
        before = set(withheld)
        for key in exposed:
            extra = _complement_of(key, published, hidden, rels, withheld)
            if extra is not None:
                withheld.add(extra)
        if withheld == before:  # nothing shown is left beside them: cannot happen (unbounded)
            raise AssertionError("suppression could not protect every sensitive count")
        withheld = set(_local(published, hidden, rels, threshold, withheld, known))
        # Withholding more only widens ranges: recheck the exposed ones and any new sensitive.
        to_check = set(exposed) | {
            k for k in withheld - before if is_small(published[k], threshold)
        }
    return frozenset(withheld)


def feasible_ranges(
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    relations: Iterable[Relation[K]],
    withheld: Iterable[K],
    targets: Iterable[K],
    *,
    floors: Mapping[K, int] | None = None,
    enough: int | None = None,
    fixed: Mapping[K, int] | None = None,
) -> dict[K, tuple[int, int | None]]:
    """The smallest and largest value of each target a reader can work out.

    The unknowns are the ``withheld`` published cells and every ``hidden``
    cell: whole numbers, at least their floor (0 unless given; a hidden
    difference that is negative is not a count and has no floor), that
    satisfy every relation given the shown cells. ``None`` as the largest
    value means unbounded.

    With ``enough``, a target whose range is already known to be at least
    that wide (two solutions found on the way differ by that much) is
    returned with those two values instead of its exact ends: the answer to
    "is it protected?" without solving for it.
    """
    problem = _Problem({**(fixed or {}), **published}, hidden, relations, withheld, floors or {})
    return {t: problem.range(t, enough) for t in targets}


class _Problem(Generic[K]):
    """The integer programme of what a reader knows: relations over the unknown cells.

    Each bound is solved as a linear programme first (HiGHS dual simplex);
    when its optimal solution is whole numbers it is a feasible point of the
    integer programme, so the bound is exact; otherwise the integer programme
    is solved (HiGHS branch and bound). Every solution found is kept: a
    target's range is at least as wide as the spread of the solutions seen.
    """

    def __init__(
        self,
        published: Mapping[K, int],
        hidden: Mapping[K, int],
        relations: Iterable[Relation[K]],
        withheld: Iterable[K],
        floors: Mapping[K, int],
    ) -> None:
        import numpy as np
        from scipy.sparse import coo_matrix

        unknown = list(dict.fromkeys([*withheld, *hidden]))
        self.index = {k: i for i, k in enumerate(unknown)}
        rows: list[int] = []
        cols: list[int] = []
        coefs: list[float] = []
        rhs: list[float] = []
        for rel in relations:
            terms: dict[int, float] = defaultdict(float)
            constant = 0.0
            for key, coef in ((rel.total, 1.0), *((p, -1.0) for p in rel.parts)):
                if key in self.index:
                    terms[self.index[key]] += coef
                else:
                    constant += coef * published[key]
            live = {i: c for i, c in terms.items() if c}
            if not live:
                continue
            for i, c in live.items():
                rows.append(len(rhs))
                cols.append(i)
                coefs.append(c)
            rhs.append(-constant)
        self.n = len(unknown)
        self.lower = np.array(
            [-_UNBOUNDED if k in hidden and hidden[k] < 0 else floors.get(k, 0) for k in unknown],
            dtype=float,
        )
        self.upper = np.full(self.n, float(_UNBOUNDED))
        self.a = coo_matrix((coefs, (rows, cols)), shape=(len(rhs), self.n)).tocsr()
        self.b = np.array(rhs, dtype=float)
        self.solutions: list[np.ndarray] = []

    def _bound(self, i: int, sign: float) -> float:
        import numpy as np
        from scipy.optimize import LinearConstraint, linprog, milp

        c = np.zeros(self.n)
        c[i] = sign
        bounds = np.column_stack([self.lower, self.upper])
        lp = linprog(
            c,
            A_eq=self.a if self.b.size else None,
            b_eq=self.b if self.b.size else None,
            bounds=bounds,
            method="highs",
        )
        if lp.status != 0:  # the cells themselves satisfy every relation
            raise AssertionError(f"the relations have no solution: {lp.message}")
        x = np.asarray(lp.x)
        if not np.allclose(x, np.round(x), atol=1e-7):
            constraints = [LinearConstraint(self.a, self.b, self.b)] if self.b.size else []
            ip = milp(
                c,
                integrality=np.ones(self.n),
                bounds=(self.lower, self.upper),
                constraints=constraints,
            )
            if ip.status != 0:
                raise AssertionError(f"the relations have no whole-number solution: {ip.message}")
            x = np.asarray(ip.x)
        x = np.round(x)
        self.solutions.append(x)
        return float(x[i])

    def range(self, key: K, enough: int | None) -> tuple[int, int | None]:
        i = self.index[key]
        if enough is not None and self.solutions:
            seen = [float(x[i]) for x in self.solutions]
            if max(seen) - min(seen) >= enough:
                return round(min(seen)), round(max(seen))
        lo = round(self._bound(i, 1.0))
        hi = round(self._bound(i, -1.0))
        return lo, None if hi >= _UNBOUNDED else hi


def _local(
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    relations: tuple[Relation[K], ...],
    threshold: int,
    also: Iterable[K],
    fixed: Mapping[K, int],
) -> frozenset[K]:
    """Primary suppression, then the relation-by-relation rules until none applies."""
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    rels = relations
    by_cell: dict[K, list[int]] = defaultdict(list)
    for index, rel in enumerate(rels):
        for term in rel.terms:
            if term not in published and term not in hidden and term not in fixed:
                raise KeyError(f"relation term {term!r} is neither published nor hidden")
            by_cell[term].append(index)
    withheld = {k for k, v in published.items() if is_small(v, threshold)}
    withheld.update(k for k in also if k in published)

    def unknown(k: K) -> bool:
        return k in withheld or k in hidden

    def protected(k: K) -> bool:
        return k in withheld or (k in hidden and is_small(hidden[k], threshold))

    values = {**fixed, **published}
    queue = list(range(len(rels)))
    queued = set(queue)
    while queue:
        index = queue.pop()
        queued.discard(index)
        rel = rels[index]
        unknowns = [t for t in rel.terms if unknown(t)]
        if not any(t in published and t not in withheld for t in rel.terms):
            continue  # nothing left that could be withheld beside them
        if not _exposed(rel, unknowns, protected, values, hidden, threshold):
            continue
        extra = _complement(rel, published, withheld)
        withheld.add(extra)
        for other in by_cell[extra]:
            if other not in queued:
                queued.add(other)
                queue.append(other)
        if index not in queued:  # re-check this relation too, for completeness
            queued.add(index)
            queue.append(index)
    return frozenset(withheld)


def _exposed(
    rel: Relation[K],
    unknowns: list[K],
    protected: Callable[[K], bool],
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    threshold: int,
) -> bool:
    """Whether the shown terms of ``rel`` give away a protected count.

    Either one unknown is left and it is protected, or every unknown is a
    part and, the total being shown, their sum (a count of people) is small.
    """
    if len(unknowns) == 1:
        return protected(unknowns[0])
    if not unknowns or rel.total in unknowns:
        return False
    together = sum(published[k] if k in published else hidden[k] for k in unknowns)
    return is_small(together, threshold)


def _complement_of(
    key: K,
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    relations: tuple[Relation[K], ...],
    withheld: set[K],
) -> K | None:
    """The shown cell to withhold so that ``key``'s range widens.

    From the relations ``key`` is in, the best complement of each (smallest
    positive part, parts before totals); failing those, from the relations of
    the unknowns beside it; failing all, the smallest positive shown cell.
    """

    def shown_in(rel: Relation[K]) -> bool:
        return any(t in published and t not in withheld for t in rel.terms)

    def best(rels: Iterable[Relation[K]]) -> K | None:
        picks = []
        for rel in rels:
            if shown_in(rel):
                extra = _complement(rel, published, withheld)
                value = published[extra]
                picks.append((extra == rel.total, value == 0, value, repr(extra), extra))
        return min(picks)[4] if picks else None

    own = [r for r in relations if key in r.terms]
    found = best(own)
    if found is not None:
        return found
    near = {t for r in own for t in r.terms if t in withheld or t in hidden}
    found = best(r for r in relations if near & set(r.terms))
    if found is not None:
        return found
    shown = [(v == 0, v, repr(k), k) for k, v in published.items() if k not in withheld]
    return min(shown)[3] if shown else None


def _complement(rel: Relation[K], published: Mapping[K, int], withheld: set[K]) -> K:
    """The shown term to withhold beside a lone protected unknown: the smallest positive part.

    Parts before the total (a total is the most useful figure); the total when
    every shown part is zero; ties broken by position so results are stable.
    The caller guarantees one term is unknown, so at least one other is shown.
    """
    shown = [
        (0 if i else 1, published[t], i, t)
        for i, t in enumerate(rel.terms)
        if t in published and t not in withheld
    ]
    positive = [c for c in shown if c[1] > 0]
    pool = positive or shown
    return min(pool, key=lambda c: (c[0], c[1], c[2]))[3]
