"""Small-count suppression: which published counts must be withheld so no client can be identified.

Counts of people between 1 and ``threshold - 1`` are withheld (*primary*
suppression). A withheld count must not be recoverable from the counts that
are shown: wherever counts add up (a total and its parts, a stage and the
clients who did not reach it), a relation with exactly one unknown term would
give that term away, and unknown parts beside a shown total give their sum
away; so another term of the relation is withheld too (*secondary*
suppression), repeated until no relation has a single protected unknown nor
unknown parts adding up to a small count. Zero is shown: it says nothing
about any one person, and "nobody was accompanied" is what a commissioner
needs to see; callers withhold the zeros of tiny groups through ``also``
(``docs/decisions.md``).

Some terms of a relation are never published but follow from published ones
(``introduced - committed`` is "introduced, never committed"); they are
*hidden* cells here, protected when they are small, so a difference of two
published counts cannot reveal a small number either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

__all__ = [
    "DEFAULT_THRESHOLD",
    "Relation",
    "check_relations",
    "determined",
    "is_small",
    "suppress",
]

DEFAULT_THRESHOLD = 5
"""Counts of 1-4 people are withheld unless the caller chooses otherwise."""

K = TypeVar("K", bound=Hashable)
"""A cell's key: any hashable naming one count."""


@dataclass(frozen=True, slots=True)
class Relation(Generic[K]):
    """``total`` equals the sum of ``parts``: a way a reader could add counts up."""

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
) -> frozenset[K]:
    """The keys of ``published`` to withhold.

    ``published`` are the counts a report would show, ``hidden`` the counts it
    never shows but a reader can derive, ``relations`` every way they add up.
    ``also`` are counts to withhold whatever their value (a zero in a tiny
    group says something about each member), protected like small ones.
    ``threshold`` must be at least 1 (1 withholds nothing but ``also``).

    The quick rules relation by relation come first; then an exact check
    (linear algebra over all relations at once) finds any protected count that
    several relations together still pin down, and withholds more until none.
    """
    rels = tuple(relations)
    withheld = set(_local(published, hidden, rels, threshold, also))
    while True:
        protected = withheld | {k for k, v in hidden.items() if is_small(v, threshold)}
        exposed = determined(rels, withheld | set(hidden)) & protected
        if not exposed:
            return frozenset(withheld)
        before = len(withheld)
        for key in sorted(exposed, key=repr):
            for rel in rels:
                if key in rel.terms and any(
                    t in published and t not in withheld for t in rel.terms
                ):
                    withheld.add(_complement(rel, published, withheld))
                    break
        if len(withheld) == before:  # nothing shown is left to withhold
            return frozenset(withheld)
        withheld = set(_local(published, hidden, rels, threshold, withheld))


def determined(relations: Iterable[Relation[K]], unknown: Iterable[K]) -> set[K]:
    """The ``unknown`` keys that ``relations`` fix exactly once every other key is known.

    Gauss-Jordan elimination with exact fractions over the unknown columns: an
    unknown is fixed when a reduced row holds it alone.
    """
    unknowns = set(unknown)
    pivots: dict[K, dict[K, Fraction]] = {}
    for rel in relations:
        row: dict[K, Fraction] = {}
        for key, coef in ((rel.total, 1), *((p, -1) for p in rel.parts)):
            if key in unknowns:
                row[key] = row.get(key, Fraction(0)) + coef
        row = {k: v for k, v in row.items() if v}
        for col, prow in pivots.items():
            factor = row.get(col)
            if factor:
                for k, v in prow.items():
                    nv = row.get(k, Fraction(0)) - factor * v
                    if nv:
                        row[k] = nv
                    else:
                        row.pop(k, None)
        if not row:
            continue
        col = min(row, key=repr)
        lead = row[col]
        row = {k: v / lead for k, v in row.items()}
        for prow in pivots.values():
            factor = prow.get(col)
            if factor:
                for k, v in row.items():
                    nv = prow.get(k, Fraction(0)) - factor * v
                    if nv:
                        prow[k] = nv
                    else:
                        prow.pop(k, None)
        pivots[col] = row
    return {col for col, row in pivots.items() if len(row) == 1}


def _local(
    published: Mapping[K, int],
    hidden: Mapping[K, int],
    relations: tuple[Relation[K], ...],
    threshold: int,
    also: Iterable[K],
) -> frozenset[K]:
    """Primary suppression, then the relation-by-relation rules until none applies."""
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    rels = relations
    by_cell: dict[K, list[int]] = defaultdict(list)
    for index, rel in enumerate(rels):
        for term in rel.terms:
            if term not in published and term not in hidden:
                raise KeyError(f"relation term {term!r} is neither published nor hidden")
            by_cell[term].append(index)
    withheld = {k for k, v in published.items() if is_small(v, threshold)}
    withheld.update(k for k in also if k in published)

    def unknown(k: K) -> bool:
        return k in withheld or k in hidden

    def protected(k: K) -> bool:
        return k in withheld or (k in hidden and is_small(hidden[k], threshold))

    queue = list(range(len(rels)))
    queued = set(queue)
    while queue:
        index = queue.pop()
        queued.discard(index)
        rel = rels[index]
        unknowns = [t for t in rel.terms if unknown(t)]
        if not _exposed(rel, unknowns, protected, published, hidden, threshold):
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
