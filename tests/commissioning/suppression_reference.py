"""Suppression as it was at main b0febe6, kept to hold any faster engine to the same output.

A verbatim copy of ``fama_core/commissioning/suppression.py`` at that commit,
except for this docstring. ``test_suppression_differential.py`` holds
:func:`fama_core.commissioning.suppression.suppress` to this one's
:func:`suppress`: the same withheld cells, the same refusals
(:class:`Unprotectable` here for the real one there); so does
``benchmarks/report_protected.py``. Do not speed this copy up: its worth is
that it is the old code (decision C36 says why the output depends on more
than the withheld sets, so that any speed work must be checked against it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # numpy and scipy load when a range is first solved, not at import (CLI start-up)
    import numpy as np

__all__ = [
    "DEFAULT_THRESHOLD",
    "Relation",
    "check_relations",
    "feasible_ranges",
    "is_small",
    "relation_tiers",
    "suppress",
]

DEFAULT_THRESHOLD = 5
"""Counts of 1-4 people are withheld unless the caller chooses otherwise."""

_UNBOUNDED = 10**9
"""An upper bound no count of people reaches: a range reaching it is unbounded."""

_NODE_LIMIT = 2000
"""Branch-and-bound nodes for one cheapest-complement programme: a count, not a time, so
that the same input withholds the same cells on any machine."""

_PRUNE_ATTEMPTS = 200
"""How many complements, dearest first, are tried for showing again once the rest protect."""

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


class Unprotectable(AssertionError):
    """No withheld set protects every sensitive count: some are given away by fixed cells.

    Only possible when ``fixed`` counts (an earlier report already published)
    narrow a sensitive count on their own; callers with such counts turn it
    into a refusal (``analyse_access``), others treat it as the bug it is.
    """


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
    tiers: Mapping[K, int] | None = None,
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
    withheld any more (an earlier report's shown counts). ``tiers`` rank the
    published counts by how much a reader needs them (a total above its
    parts; default :func:`relation_tiers`): complements are taken from the
    lowest tier that can protect, then the smallest counts.

    Steps: primary suppression and the quick rules relation by relation (a
    relation with one unknown left gives it away); then, while a sensitive
    count's exact range is too narrow, the cheapest set of shown counts that
    widens it enough (an integer programme, :func:`_cheapest_complement`);
    then every withheld total that cells of lower tiers could replace is
    replaced; last, every complement the others make redundant is shown
    again, dearest first. Each step ends with every sensitive count
    protected, checked exactly.
    """
    width = threshold if protection is None else protection
    if width < 1:
        raise ValueError("the protection interval must be at least 1")
    rels = tuple(relations)
    cost = _Costs(published, rels, tiers)
    attack = _Attack(published, hidden, rels, floors or {}, fixed or {}, width)
    known = dict(fixed or {})
    primary = {k for k, v in published.items() if is_small(v, threshold)}
    primary.update(k for k in also if k in published)
    everything = set(published)
    start = _local(published, hidden, rels, threshold, also, known, cost, everything)
    assert start is not None  # every published count is allowed
    sensitive = {k for k in start if is_small(published[k], threshold)}
    sensitive |= {k for k, v in hidden.items() if is_small(v, threshold)}
    found = _protect(attack, set(start), sensitive, cost, everything, threshold, restricted=False)
    assert found is not None  # unrestricted: progress or AssertionError
    withheld = found
    secondary = withheld - primary
    # Replace totals by inner cells where inner cells can do it, highest tier first.
    for total in sorted(secondary, key=cost.key, reverse=True):
        if total not in withheld or cost.tier(total) == 0:
            continue
        inner = {k for k in published if cost.tier(k) < cost.tier(total)}
        without = withheld - {total}
        if not attack.protects(without | inner, sensitive, near=total):
            continue
        allowed = inner - withheld
        found = _protect(attack, without, sensitive, cost, allowed, threshold, restricted=True)
        withheld = found if found is not None else without | inner
    # Show again what the others make redundant, dearest first (a total before its parts);
    # at most _PRUNE_ATTEMPTS tries, so a very large table stays quick (it is safe either way).
    redundant = sorted(withheld - primary, key=cost.key, reverse=True)
    for key in redundant[:_PRUNE_ATTEMPTS]:
        if attack.protects(withheld - {key}, sensitive, near=key):
            withheld.discard(key)
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
    that wide (two solutions found on the way differ by that much, the true
    counts being one) is returned with those two values instead of its exact
    ends: the answer to "is it protected?" without solving for it.
    """
    problem = _Problem({**(fixed or {}), **published}, hidden, relations, withheld, floors or {})
    return {t: problem.range(t, enough) for t in targets}


_POOL_SIZE = 400
"""How many solutions one :func:`suppress` call keeps to answer later checks without solving."""


class _Pool(Generic[K]):
    """Solutions of the reader's programme kept across withheld sets, as differences from the truth.

    A solution found with some counts withheld still holds with any other
    withheld set that leaves every count it changes unknown (hidden counts
    always are), so each is kept with the shown counts it changes.
    """

    def __init__(self, hidden: Mapping[K, int]) -> None:
        self._hidden = hidden
        self._entries: list[tuple[frozenset[K], dict[K, int]]] = []

    def add(self, deviation: dict[K, int]) -> None:
        """Keep one solution (the most recent ``_POOL_SIZE`` are kept)."""
        changed = frozenset(k for k in deviation if k not in self._hidden)
        self._entries.append((changed, deviation))
        del self._entries[:-_POOL_SIZE]

    def valid(self, withheld: set[K]) -> list[dict[K, int]]:
        """The solutions that hold when ``withheld`` (and every hidden count) is unknown."""
        return [d for changed, d in self._entries if changed <= withheld]


class _Structure(Generic[K]):
    """Every relation as one sparse matrix over every cell, built once per :func:`suppress`.

    A programme for one withheld set takes the columns of its unknown cells
    and moves the shown ones to the right-hand side; a relation left with no
    unknown drops out, as :class:`_Problem` drops it when built alone.
    """

    def __init__(
        self,
        values: Mapping[K, int],
        hidden: Mapping[K, int],
        relations: Iterable[Relation[K]],
    ) -> None:
        import numpy as np
        from scipy.sparse import coo_matrix

        cells = list(dict.fromkeys([*values, *hidden]))
        self.index = {k: i for i, k in enumerate(cells)}
        rows: list[int] = []
        cols: list[int] = []
        coefs: list[float] = []
        count = 0
        for rel in relations:
            for key, coef in ((rel.total, 1.0), *((p, -1.0) for p in rel.parts)):
                rows.append(count)
                cols.append(self.index[key])
                coefs.append(coef)
            count += 1
        matrix = coo_matrix((coefs, (rows, cols)), shape=(count, len(cells))).tocsc()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        self.matrix = matrix
        self.values = np.array(
            [float(hidden[k]) if k in hidden else float(values[k]) for k in cells]
        )

    def equations(self, unknown: list[K]) -> tuple[Any, np.ndarray]:
        """``A x = b`` over the ``unknown`` cells, in their order, the others at their values."""
        import numpy as np

        at = np.array([self.index[k] for k in unknown], dtype=np.intp)
        known = self.values.copy()
        known[at] = 0.0
        a = self.matrix[:, at].tocsr()
        b = -(self.matrix @ known)
        live = np.diff(a.indptr) > 0
        return a[live], np.asarray(b[live], dtype=float)


class _Problem(Generic[K]):
    """The integer programme of what a reader knows: relations over the unknown cells.

    Each bound is solved as a linear programme first (HiGHS dual simplex);
    when its optimal solution is whole numbers it is a feasible point of the
    integer programme, so the bound is exact; otherwise the integer programme
    is solved (HiGHS branch and bound). Every solution found is kept, as its
    differences from the true counts (which are a solution too): a target's
    range is at least as wide as the spread of the solutions seen. A
    ``pool`` shared between problems over the same cells passes solutions
    on: one found with more cells withheld still holds where every cell it
    changes is unknown.
    """

    def __init__(
        self,
        published: Mapping[K, int],
        hidden: Mapping[K, int],
        relations: Iterable[Relation[K]],
        withheld: Iterable[K],
        floors: Mapping[K, int],
        pool: _Pool[K] | None = None,
        structure: _Structure[K] | None = None,
    ) -> None:
        import numpy as np
        from scipy.sparse import coo_matrix

        unknown_shown = set(withheld)
        # Sorted so that the programme, and the solutions it finds, do not depend on hash order.
        unknown = list(dict.fromkeys([*sorted(unknown_shown, key=repr), *hidden]))
        self.unknown = unknown
        self.index = {k: i for i, k in enumerate(unknown)}
        self.truth = np.array(
            [hidden[k] if k in hidden else published[k] for k in unknown], dtype=float
        )
        self.n = len(unknown)
        self.lower = np.array(
            [-_UNBOUNDED if k in hidden and hidden[k] < 0 else floors.get(k, 0) for k in unknown],
            dtype=float,
        )
        self.upper = np.full(self.n, float(_UNBOUNDED))
        if structure is not None:
            self.a, self.b = structure.equations(unknown)
        else:
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
            self.a = coo_matrix((coefs, (rows, cols)), shape=(len(rhs), self.n)).tocsr()
            self.b = np.array(rhs, dtype=float)
        self.pool = pool
        self._labels: np.ndarray | None = None
        self._parts: dict[int, tuple[np.ndarray, Any, np.ndarray]] = {}
        self._free: np.ndarray | None = None
        self._rest: np.ndarray | None = None
        # The smallest and largest value of each unknown among the solutions seen, the true
        # counts first: a range is at least as wide as that spread.
        self.low = self.truth.copy()
        self.high = self.truth.copy()
        if pool is not None:
            for deviation in pool.valid(unknown_shown):
                self._see(deviation)

    def _see(self, deviation: dict[K, int]) -> None:
        import numpy as np

        if not deviation:
            return
        size = len(deviation)
        at = np.fromiter((self.index[k] for k in deviation), dtype=np.intp, count=size)
        values = self.truth[at] + np.fromiter(deviation.values(), dtype=float, count=size)
        np.minimum.at(self.low, at, values)
        np.maximum.at(self.high, at, values)

    def keep(self, deviation: dict[K, int]) -> None:
        """Keep a solution of this problem (or of one with fewer cells withheld)."""
        self._see(deviation)
        if self.pool is not None:
            self.pool.add(deviation)

    def _component(self, i: int) -> tuple[np.ndarray, Any, np.ndarray] | None:
        """The unknowns tied to unknown ``i`` through the relations, and their equations.

        First every unknown a relation pins down (the only one left in it: its
        value can only be the true count) is set to its true count, over and
        over; ``None`` when ``i`` is one of those. The rest fall apart into
        components that share no relation, so each bound is solved over its
        own component (the others keep their true counts): far smaller
        programmes once the totals between groups are shown.
        """
        import numpy as np
        from scipy.sparse.csgraph import connected_components

        if self._labels is None:
            a = self.a.tocsc()
            pinned = np.zeros(self.n, dtype=bool)
            while True:
                free = a[:, ~pinned].tocsr()
                single = np.nonzero(np.diff(free.indptr) == 1)[0]
                if single.size == 0:
                    break
                columns = np.nonzero(~pinned)[0][free.indices[free.indptr[single]]]
                pinned[columns] = True
            self._free = np.nonzero(~pinned)[0]
            linked = abs(a[:, self._free]).T @ abs(a[:, self._free])
            _count, labels = connected_components(linked, directed=False)
            self._labels = np.full(self.n, -1)
            self._labels[self._free] = labels
            self._rest = np.asarray(self.b - a[:, pinned] @ self.truth[pinned], dtype=float)
        label = int(self._labels[i])
        if label < 0:
            return None
        if label not in self._parts:
            cols = np.nonzero(self._labels == label)[0]
            sub = self.a[:, cols].tocsr()
            live = np.diff(sub.indptr) > 0
            rest = self._rest if self._rest is not None else self.b
            self._parts[label] = (cols, sub[live], rest[live])
        return self._parts[label]

    def _solve(
        self,
        c: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        equations: tuple[Any, np.ndarray] | None = None,
    ) -> np.ndarray | None:
        """A whole-number optimum of ``c @ x`` within the bounds, or ``None`` when there is none.

        ``equations`` (``A``, ``b``) are the whole problem's unless given.
        """
        import numpy as np
        from scipy.optimize import LinearConstraint, linprog, milp

        a, b = (self.a, self.b) if equations is None else equations
        lp = linprog(
            c,
            A_eq=a if b.size else None,
            b_eq=b if b.size else None,
            bounds=np.column_stack([lower, upper]),
            method="highs",
        )
        if lp.status != 0:
            return None
        x = np.asarray(lp.x)
        if not np.allclose(x, np.round(x), atol=1e-7):
            constraints = [LinearConstraint(a, b, b)] if b.size else []
            ip = milp(
                c,
                integrality=np.ones(c.size),
                bounds=(lower, upper),
                constraints=constraints,
            )
            if ip.status != 0 or ip.x is None:
                return None
            x = np.asarray(ip.x)
        return np.asarray(np.round(x))

    def _keep_array(self, x: np.ndarray) -> None:
        import numpy as np

        changed = np.nonzero(x != self.truth)[0]
        self.keep({self.unknown[j]: int(x[j] - self.truth[j]) for j in changed})

    def _bound(self, i: int, sign: float) -> float:
        import numpy as np

        found = self._component(i)
        if found is None:  # pinned down by the relations: only its true count
            return float(self.truth[i])
        cols, a, b = found
        c = np.zeros(cols.size)
        c[int(np.searchsorted(cols, i))] = sign
        part = self._solve(c, self.lower[cols], self.upper[cols], (a, b))
        if part is None:  # the true counts satisfy every relation
            raise AssertionError("the relations have no whole-number solution")
        x = self.truth.copy()  # the other components keep their true counts
        x[cols] = part
        if x[i] < _UNBOUNDED:  # an unbounded end is no solution to pass on
            self._keep_array(x)
        return float(x[i])

    def cover(self, targets: Iterable[K], enough: int) -> None:
        """Find solutions that show many targets' ranges at least ``enough`` wide at once.

        Each round moves every target not yet shown protected as far as
        ``enough`` from its true count together, up (most of them upwards)
        or down, by one programme whose bounds are tightened to that reach:
        any solution of the tightened programme is one of the reader's. A
        round that shows no further target protected ends it; what is left
        is for :meth:`range` to solve one by one.
        """
        import numpy as np

        keys = list(dict.fromkeys(targets))
        direction = -1.0  # maximise first: counts of people are bounded below, not above

        at = np.array([self.index[k] for k in keys], dtype=int)

        def open_targets() -> list[int]:
            narrow = self.high[at] - self.low[at] < enough
            return [int(i) for i in at[narrow]]

        left = open_targets()
        stalled = 0
        while left and stalled < 2:
            c = np.zeros(self.n)
            c[left] = direction
            lower, upper = self.lower.copy(), self.upper.copy()
            if direction < 0:
                upper[left] = self.truth[left] + enough
            else:
                lower[left] = np.maximum(self.lower[left], self.truth[left] - enough)
            x = self._solve(c, lower, upper)
            if x is not None:
                self._keep_array(x)
            now = open_targets()
            # A round is worth it while it settles more than one target (one by one costs two).
            stalled = stalled + 1 if len(left) - len(now) < 2 else 0
            left = now
            direction = -direction

    def range(self, key: K, enough: int | None) -> tuple[int, int | None]:
        """The smallest and largest value of ``key`` (``None``: unbounded); see feasible_ranges."""
        i = self.index[key]

        def spread() -> tuple[int, int]:
            return round(self.low[i]), round(self.high[i])

        if enough is not None:
            lo, hi = spread()
            if hi - lo >= enough:
                return lo, hi
        top = round(self._bound(i, -1.0))
        if top >= _UNBOUNDED:
            return round(self._bound(i, 1.0)), None
        if enough is not None:
            lo, hi = spread()
            if hi - lo >= enough:
                return lo, hi
        return round(self._bound(i, 1.0)), top


def relation_tiers(relations: Iterable[Relation[K]]) -> dict[K, int]:
    """Each cell's height among the relations: 0 for a cell that totals nothing.

    A relation's total sits one tier above its highest part: in a table with
    margins the inner cells are tier 0, the row and column totals 1, the
    grand total 2. The default cost order of :func:`suppress`. A cycle of
    relations (a total among its own parts' parts) stops growing after as many
    rounds as there are relations.
    """
    rels = [r for r in relations if r.parts]
    tier: dict[K, int] = defaultdict(int)
    for _round in range(len(rels) + 1):
        changed = False
        for rel in rels:
            height = 1 + max(tier[p] for p in rel.parts)
            if height > tier[rel.total]:
                tier[rel.total] = height
                changed = True
        if not changed:
            break
    return dict(tier)


class _Costs(Generic[K]):
    """What withholding a shown count costs the reader: its tier first, then its size.

    A cell of a higher tier costs more than every cell below it together
    (``big`` exceeds the sum of all costs in one tier), so the cheapest set of
    complements uses a total only when inner cells cannot do it.
    """

    def __init__(
        self,
        published: Mapping[K, int],
        relations: tuple[Relation[K], ...],
        tiers: Mapping[K, int] | None,
    ) -> None:
        self._tiers = dict(tiers) if tiers is not None else relation_tiers(relations)
        self._published = published
        self.big = sum(max(v, 0) + 1 for v in published.values()) + 1

    def tier(self, key: K) -> int:
        return self._tiers.get(key, 0)

    def __call__(self, key: K) -> int:
        return self.tier(key) * self.big + max(self._published[key], 0) + 1

    def key(self, key: K) -> tuple[int, str]:
        """A sort key: cost, then the key's text so that ties are broken the same way every run."""
        return self(key), repr(key)


class _Attack(Generic[K]):
    """What a reader knows apart from the withheld set: the cells, relations and floors."""

    def __init__(
        self,
        published: Mapping[K, int],
        hidden: Mapping[K, int],
        relations: tuple[Relation[K], ...],
        floors: Mapping[K, int],
        fixed: Mapping[K, int],
        width: int,
    ) -> None:
        self.published = published
        self.hidden = hidden
        self.relations = relations
        self.floors = floors
        self.fixed = fixed
        self.values = {**fixed, **published}
        self.width = width
        self.pool: _Pool[K] = _Pool(hidden)
        self._structure: _Structure[K] | None = None  # built when first needed
        self.reason: dict[K, K] = {}
        """The sensitive count each complement was first withheld for."""
        self.beside: dict[K, set[K]] = defaultdict(set)
        for rel in relations:
            for term in rel.terms:
                self.beside[term].update(rel.terms)

    def problem(self, withheld: Iterable[K]) -> _Problem[K]:
        """The reader's programme with ``withheld`` unknown, sharing this attack's solutions."""
        if self._structure is None:
            self._structure = _Structure(self.values, self.hidden, self.relations)
        return _Problem(
            self.values,
            self.hidden,
            self.relations,
            withheld,
            self.floors,
            self.pool,
            self._structure,
        )

    def seen_protected(self, withheld: set[K], key: K) -> bool:
        """Whether solutions already found show ``key`` protected (no programme solved)."""
        truth = self.values[key] if key in self.values else self.hidden[key]
        seen = [truth + d.get(key, 0) for d in self.pool.valid(withheld)]
        return max(seen, default=truth) - min(seen, default=truth) >= self.width

    def exposed(self, withheld: Iterable[K], targets: Iterable[K]) -> list[K]:
        """The targets whose range is narrower than the protection interval, in a stable order."""
        problem = self.problem(withheld)
        targets = sorted(targets, key=repr)
        problem.cover(targets, self.width)
        out = []
        for key in targets:
            lo, hi = problem.range(key, self.width)
            if hi is not None and hi - lo < self.width:
                out.append(key)
        return out

    def protects(self, withheld: Iterable[K], targets: Iterable[K], near: K | None = None) -> bool:
        """Whether every target's range is at least the protection interval wide.

        Stops at the first exposed target; with ``near``, the count it was
        withheld for and the targets in a relation with it are tried first
        (where showing ``near`` bites).
        """
        problem = self.problem(withheld)
        close = self.beside.get(near, set()) if near is not None else set()
        targets = sorted(targets, key=lambda k: (k not in close, repr(k)))
        first = [k for k in targets if k in close]
        if near in self.reason and self.reason[near] in targets:
            first.insert(0, self.reason[near])  # the count it was withheld for
        else:
            problem.cover(first, self.width)
        for key in first:  # where showing ``near`` bites, so a refusal is found cheaply
            lo, hi = problem.range(key, self.width)
            if hi is not None and hi - lo < self.width:
                return False
        problem.cover(targets, self.width)
        for key in targets:
            lo, hi = problem.range(key, self.width)
            if hi is not None and hi - lo < self.width:
                return False
        return True


def _protect(
    attack: _Attack[K],
    withheld: set[K],
    sensitive: set[K],
    cost: _Costs[K],
    allowed: set[K],
    threshold: int,
    restricted: bool,
) -> set[K] | None:
    """Withhold more of ``allowed`` until every sensitive count is protected.

    For each exposed count, the cheapest complement set
    (:func:`_cheapest_complement`); when that programme finds none and
    ``restricted`` is false, the old single-cell choice
    (:func:`_complement_of`), which always makes progress. ``None`` when
    ``restricted`` and ``allowed`` cannot protect every sensitive count.
    """
    withheld = set(withheld)
    to_check = set(sensitive)
    while to_check:
        exposed = attack.exposed(withheld, to_check)
        if not exposed:
            return withheld
        before = set(withheld)
        for key in exposed:
            if withheld != before and attack.seen_protected(withheld, key):
                continue  # an earlier complement this round protected it too
            extra = _cheapest_complement(attack, key, withheld, allowed, cost)
            if extra is None:
                if restricted:
                    return None
                one = _complement_of(
                    key, attack.published, attack.hidden, attack.relations, withheld, cost
                )
                extra = set() if one is None else {one}
            for cell in extra - withheld:
                attack.reason.setdefault(cell, key)
            withheld |= extra
        if withheld == before:  # nothing shown is left beside them: cannot happen (unbounded)
            if restricted:
                return None
            raise Unprotectable("suppression could not protect every sensitive count")
        local = _local(
            attack.published,
            attack.hidden,
            attack.relations,
            threshold,
            withheld,
            attack.fixed,
            cost,
            allowed,
        )
        if local is None:
            return None
        withheld = set(local)
        # Withholding more only widens ranges: recheck the exposed ones only.
        to_check = set(exposed)
    return withheld


def _cheapest_complement(
    attack: _Attack[K], key: K, withheld: set[K], allowed: set[K], cost: _Costs[K]
) -> set[K] | None:
    """The cheapest set of shown, allowed counts whose withholding protects ``key``.

    The single-cell model of the cell-suppression literature (Fischetti and
    Salazar-González): two whole-number tables ``x1`` and ``x2`` that both
    satisfy every relation, agree with every count left shown, and differ in
    ``key`` by the protection interval; a binary per candidate count says
    whether it may differ from its true value (by at most ``2 * width`` in
    either table, a bound that keeps the programme tight: a miss only means
    the fallback choice is used). Solved by HiGHS (``scipy.optimize.milp``);
    ``None`` when it finds no such set.
    """
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    values, hidden = attack.values, attack.hidden
    unknown = list(dict.fromkeys([*sorted(withheld, key=repr), *hidden]))
    candidates = sorted(
        (k for k in allowed if k in attack.published and k not in withheld), key=repr
    )
    cells = [*unknown, *candidates]
    index = {k: i for i, k in enumerate(cells)}
    n, m = len(cells), len(candidates)
    rows: list[int] = []
    cols: list[int] = []
    coefs: list[float] = []
    lower_rhs: list[float] = []
    upper_rhs: list[float] = []

    def add(terms: Mapping[int, float], low: float, high: float) -> None:
        for col, coef in terms.items():
            rows.append(len(lower_rhs))
            cols.append(col)
            coefs.append(coef)
        lower_rhs.append(low)
        upper_rhs.append(high)

    for rel in attack.relations:
        terms: dict[int, float] = defaultdict(float)
        constant = 0.0
        for cell, coef in ((rel.total, 1.0), *((p, -1.0) for p in rel.parts)):
            if cell in index:
                terms[index[cell]] += coef
            else:
                constant += coef * values[cell]
        live = {i: c for i, c in terms.items() if c}
        if not live:
            continue
        for copy in (0, n):
            add({i + copy: c for i, c in live.items()}, -constant, -constant)
    spread = 2.0 * attack.width
    for j, cell in enumerate(candidates):
        i, value, z = index[cell], float(values[cell]), 2 * n + j
        for copy in (0, n):
            add({i + copy: 1.0, z: -spread}, -np.inf, value)
            add({i + copy: -1.0, z: -spread}, -np.inf, -value)
    target = index[key]
    add({target: 1.0, target + n: -1.0}, float(attack.width), np.inf)
    floor = [
        -np.inf if k in hidden and hidden[k] < 0 else float(attack.floors.get(k, 0)) for k in cells
    ]
    lower = np.array([*floor, *floor, *([0.0] * m)])
    upper = np.array([*([np.inf] * (2 * n)), *([1.0] * m)])
    objective = np.zeros(2 * n + m)
    for j, cell in enumerate(candidates):
        objective[2 * n + j] = cost(cell)
    matrix = coo_matrix((coefs, (rows, cols)), shape=(len(lower_rhs), 2 * n + m)).tocsr()
    result = milp(
        objective,
        integrality=np.ones(2 * n + m),
        bounds=Bounds(lower, upper),
        constraints=[LinearConstraint(matrix, np.array(lower_rhs), np.array(upper_rhs))],
        options={"node_limit": _NODE_LIMIT},
    )
    if result.x is None:
        return None
    chosen = {candidates[j] for j in range(m) if result.x[2 * n + j] > 0.5}
    truth = np.array([float(values[k]) if k not in hidden else float(hidden[k]) for k in cells])
    for copy in (0, n):  # two solutions of the reader's programme once ``chosen`` is withheld
        x = np.round(result.x[copy : copy + n])
        changed = np.nonzero(x != truth)[0]
        attack.pool.add({cells[j]: int(x[j] - truth[j]) for j in changed})
    return chosen or None


def _local(
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    relations: tuple[Relation[K], ...],
    threshold: int,
    also: Iterable[K],
    fixed: Mapping[K, int],
    cost: _Costs[K],
    allowed: set[K],
) -> frozenset[K] | None:
    """Primary suppression, then the relation-by-relation rules until none applies.

    Complements come from ``allowed`` only; ``None`` when a rule needs one and
    no allowed count is left in the relation.
    """
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
        extra = _complement(rel, published, withheld, cost, allowed)
        if extra is None:
            return None
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
    cost: _Costs[K],
) -> K | None:
    """One shown cell to withhold so that ``key``'s range widens (the fallback choice).

    From the relations ``key`` is in, the cheapest complement of each;
    failing those, from the relations of the unknowns beside it; failing
    all, the cheapest positive shown cell.
    """
    everything = set(published)

    def shown_in(rel: Relation[K]) -> bool:
        return any(t in published and t not in withheld for t in rel.terms)

    def best(rels: Iterable[Relation[K]]) -> K | None:
        picks = []
        for rel in rels:
            if shown_in(rel):
                extra = _complement(rel, published, withheld, cost, everything)
                if extra is not None:
                    picks.append((published[extra] == 0, cost.key(extra), extra))
        return min(picks, key=lambda p: (p[0], p[1]))[2] if picks else None

    own = [r for r in relations if key in r.terms]
    found = best(own)
    if found is not None:
        return found
    near = {t for r in own for t in r.terms if t in withheld or t in hidden}
    found = best(r for r in relations if near & set(r.terms))
    if found is not None:
        return found
    shown = [(v == 0, cost.key(k), k) for k, v in published.items() if k not in withheld]
    return min(shown, key=lambda p: (p[0], p[1]))[2] if shown else None


def _complement(
    rel: Relation[K],
    published: Mapping[K, int],
    withheld: set[K],
    cost: _Costs[K],
    allowed: set[K],
) -> K | None:
    """The shown term to withhold beside a lone protected unknown: the cheapest positive one.

    Cheapest by :class:`_Costs` (a lower tier first, then the smaller count;
    a total is the most useful figure); a zero only when every allowed shown
    term is zero; ties broken by position so results are stable. ``None``
    when no shown term is allowed.
    """
    shown = [
        (published[t] == 0, cost(t), i, t)
        for i, t in enumerate(rel.terms)
        if t in published and t not in withheld and t in allowed
    ]
    return min(shown, key=lambda c: (c[0], c[1], c[2]))[3] if shown else None
