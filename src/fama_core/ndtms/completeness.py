"""NDTMS recovery-support completeness, per keyworker and overall. Pure.

The commissioners' guide asks that "NDTMS recovery support interventions
should be routinely and robustly completed" and warns they "can be poorly
reported". The worry is facilitation never recorded, not only recorded badly,
so the denominator is every client **in treatment** (from the host's
contexts), whether or not fama holds a FAMA record for them.

:func:`ndtms_completeness` computes the whole report from clients given one
at a time; :class:`NdtmsCompleteness` is the same tally, fed incrementally
(what a streaming export does). Each client is counted once, under one
keyworker: the host's (the treatment context's ``keyworker_id``, latest
first), else the keyworker of the client's latest FAMA episode, else
``(unassigned)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fama_core.ndtms.context import NdtmsContext
from fama_core.ndtms.derive import ClientDerivation, Facilitation, derive_client
from fama_core.ndtms.tables import DatasetTable

__all__ = [
    "UNASSIGNED",
    "KeyworkerCounts",
    "NdtmsCompleteness",
    "keyworker_of",
    "ndtms_completeness",
]

UNASSIGNED = "(unassigned)"
"""The keyworker of a client neither the host nor fama assigns to anyone."""


@dataclass
class KeyworkerCounts:
    """Completeness counts for one keyworker (or everyone); each is a number of clients."""

    clients_in_treatment: int = 0
    """Clients with a treatment episode started on or before the reporting date."""
    no_fama_record: int = 0
    """Clients in treatment of whom fama holds no usable FAMA event at all."""
    facilitation_recorded: int = 0
    """Clients with a FAMA session inside one of their treatment episodes."""
    no_facilitation_in_treatment: int = 0
    """Clients in treatment with no FAMA session inside any treatment episode (with or
    without a FAMA record): facilitation never recorded where NDTMS would carry it."""
    reviews_missing: int = 0
    """Clients with facilitation no review carries though the intervention ended."""
    reviews_pending: int = 0
    refused_events: int = 0
    """Clients with events the workflow refused (held back from NDTMS)."""
    invalid_flags: int = 0
    """Clients with a review row whose RECMAID / RECPEER is invalid (from an extract)."""
    flags_empty: int = 0
    """Clients with a review row leaving RECMAID and RECPEER empty (from an extract)."""
    not_submittable: int = 0
    """Clients for whom nothing can be submitted (consent, agency …)."""

    def as_dict(self) -> dict[str, int]:
        """JSON form."""
        return dict(self.__dict__)


def keyworker_of(contexts: Sequence[NdtmsContext], facilitation: Facilitation | None) -> str:
    """The keyworker a client is counted under (see the module docstring)."""
    for ctx in reversed(contexts):
        if ctx.keyworker_id:
            return ctx.keyworker_id
    if facilitation is not None and facilitation.keyworker_id:
        return facilitation.keyworker_id
    return UNASSIGNED


def _in_treatment(f: Facilitation | None, contexts: Sequence[NdtmsContext]) -> bool:
    if f is None:
        return False
    return any(
        c.treatment.started_on <= d and (c.treatment.ended_on is None or d <= c.treatment.ended_on)
        for d in f.sessions
        for c in contexts
    )


@dataclass
class NdtmsCompleteness:
    """The completeness audit, per keyworker and overall, built one client at a time."""

    by_keyworker: dict[str, KeyworkerCounts] = field(default_factory=dict)
    overall: KeyworkerCounts = field(default_factory=KeyworkerCounts)

    def add_client(
        self,
        contexts: Sequence[NdtmsContext],
        facilitation: Facilitation | None,
        derivation: ClientDerivation | None,
        *,
        as_of: dt.date,
        flagged: frozenset[str] = frozenset(),
        refused_events: int = 0,
    ) -> None:
        """Count one client (``contexts``: all of its treatment episodes).

        ``derivation`` is the client's :func:`~fama_core.ndtms.derive.derive_client`
        result (``None`` when fama has no FAMA record); ``flagged`` the rule
        codes an existing extract broke for the client; ``refused_events`` the
        number of its events the workflow refused. A client none of whose
        treatment episodes had started by ``as_of`` is not counted.
        """
        in_treatment = [c for c in contexts if c.treatment.started_on <= as_of]
        if not in_treatment:
            return
        keyworker = keyworker_of(in_treatment, facilitation)
        facilitated = _in_treatment(facilitation, in_treatment)
        for counts in (self.by_keyworker.setdefault(keyworker, KeyworkerCounts()), self.overall):
            counts.clients_in_treatment += 1
            counts.no_fama_record += facilitation is None
            counts.facilitation_recorded += facilitated
            counts.no_facilitation_in_treatment += not facilitated
            counts.refused_events += refused_events > 0
            if derivation is not None:
                counts.reviews_missing += derivation.reviews_missing > 0
                counts.reviews_pending += any(u.code == "pending" for u in derivation.unplaced)
                counts.not_submittable += all(
                    d.withheld is not None and not d.rows for d in derivation.derivations
                )
            counts.invalid_flags += "FAMA-E030" in flagged
            counts.flags_empty += "FAMA-W060" in flagged

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "overall": self.overall.as_dict(),
            "by_keyworker": {k: v.as_dict() for k, v in sorted(self.by_keyworker.items())},
        }


def ndtms_completeness(
    clients: Iterable[tuple[Sequence[NdtmsContext], Facilitation | None]],
    table: DatasetTable,
    *,
    as_of: dt.date,
    flagged: Mapping[str, frozenset[str]] | None = None,
) -> NdtmsCompleteness:
    """Completeness of NDTMS recovery support for every client in treatment.

    ``clients`` gives, per client, all of its treatment contexts and its FAMA
    record (``None`` when fama has none: such a client counts as in
    treatment with ``no_fama_record``). ``flagged`` maps client ids to rule
    codes an existing extract broke. Clients with no context are not in
    treatment and are not counted.
    """
    report = NdtmsCompleteness()
    for contexts, facilitation in clients:
        if not contexts:
            continue
        derivation = (
            derive_client(contexts, facilitation, table, as_of=as_of)
            if facilitation is not None
            else None
        )
        client_id = contexts[0].client_id
        report.add_client(
            contexts,
            facilitation,
            derivation,
            as_of=as_of,
            flagged=(flagged or {}).get(client_id, frozenset()),
        )
    return report
