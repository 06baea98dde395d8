"""Small factories for the NDTMS tests: contexts, facilitation records, valid rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fama_core.context import TreatmentContext
from fama_core.ndtms import (
    Accompanied,
    Facilitation,
    Intervention,
    NdtmsContext,
    ReviewPoint,
    ReviewPolicy,
    load_dataset,
)
from fama_core.ndtms.derive import EpisodeSummary

D = dt.date
TABLE = load_dataset("P")
AS_OF = D(2026, 12, 31)


def intervention(**kw: Any) -> Intervention:
    base: dict[str, Any] = {
        "intervention_id": "M1",
        "modality": "RECSUP",
        "started_on": D(2026, 1, 1),
    }
    base.update(kw)
    return Intervention(**base)


def context(
    *,
    interventions: tuple[Intervention, ...] | None = None,
    consent: bool | None = True,
    agency: str | None = "AG001",
    started: dt.date = dt.date(2026, 1, 1),  # noqa: B008 - an immutable date
    ended: dt.date | None = None,
    policy: ReviewPolicy | None = None,
    client_id: str = "c1",
) -> NdtmsContext:
    return NdtmsContext(
        treatment=TreatmentContext(
            client_id=client_id,
            treatment_episode_id="E1",
            agency_code=agency,
            started_on=started,
            ended_on=ended,
            end_reason="80" if ended else None,
            consent_to_share=consent,
        ),
        interventions=interventions if interventions is not None else (intervention(),),
        review_policy=policy,
    )


def reviews(*days: dt.date) -> tuple[ReviewPoint, ...]:
    return tuple(ReviewPoint(review_id=f"R{i + 1}", reviewed_on=d) for i, d in enumerate(days))


RCO = "recovery_community_organisation"


def facilitation(
    sessions: tuple[dt.date, ...] = (),
    peer: tuple[dt.date, ...] = (),
    client_id: str = "c1",
    *,
    peer_kind: str = RCO,
) -> Facilitation:
    """A FAMA record; ``peer`` are meetings accompanied by a volunteer of ``peer_kind``."""
    summary = EpisodeSummary(
        episode_id="ep1",
        keyworker_id="kw-1",
        opened_on=min(sessions) if sessions else D(2026, 1, 1),
        sessions=len(sessions),
        first_facilitation=min(sessions) if sessions else None,
        last_facilitation=max(sessions) if sessions else None,
        peer_supported=len(peer),
        outcome="open",
        ended_on=None,
    )
    accompanied = tuple(Accompanied(d, peer_kind, "vol-1") for d in sorted(peer))
    return Facilitation(
        client_id, tuple(sorted(sessions)), tuple(sorted(peer)), (summary,), accompanied
    )


def row(**kw: str | None) -> dict[str, str | None]:
    """A valid review row; keyword arguments override items (None: empty)."""
    values: dict[str, str | None] = {c: None for c in TABLE.columns}
    values.update(
        AGNCY="AG001",
        CLIENTID="c1",
        EPISODID="E1",
        CONSENT="Y",
        TRIAGED="2026-01-01",
        MODAL="RECSUP",
        MODID="M1",
        MODST="2026-01-01",
        SUBMODDT="2026-03-01",
        SUBMID="R1",
        RECMAID="Y",
        RECPEER="N",
    )
    values.update(kw)
    return values
