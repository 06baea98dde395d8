"""What the host tells fama about a treatment episode so NDTMS rows can be derived.

fama knows the FAMA sessions; the host's case system knows the treatment
episode (:class:`~fama_core.context.TreatmentContext`: agency, client and
episode ids, triage and discharge dates, consent), the interventions inside
it (NDTMS ``MODAL`` … ``MODEXIT``) and when sub-intervention reviews were, or
are to be, recorded. :class:`NdtmsContext` carries all of it for one client.

Reviews come either from the host (``Intervention.reviews``: the dates and
ids it recorded) or from a :class:`ReviewPolicy` (fama proposes dates).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from fama_core.context import HostCode, TreatmentContext
from fama_core.models import FamaModel, Identifier

__all__ = ["Intervention", "NdtmsContext", "ReviewPoint", "ReviewPolicy"]

NdtmsCode = str
"""A code as the host records it; checked against the dataset table when known."""


class ReviewPoint(FamaModel):
    """A sub-intervention review the host recorded (or will record): ``SUBMODDT``, ``SUBMID``."""

    review_id: Identifier = Field(description="SUBMID: unique within the intervention.")
    reviewed_on: dt.date = Field(description="SUBMODDT.")


class ReviewPolicy(FamaModel):
    """fama proposes review dates when the host has none.

    A review every ``interval_days`` from the intervention start (the first
    at start + interval), and one on the intervention's end date when
    ``at_end``. Dates after ``as_of`` (the caller's today) are not proposed.
    Review ids are ``<MODID>-<yyyymmdd>``, stable across runs.
    """

    interval_days: int = Field(default=91, ge=1, le=3660)
    at_end: bool = True


class Intervention(FamaModel):
    """One intervention (NDTMS modality) inside the treatment episode."""

    intervention_id: Identifier = Field(description="MODID.")
    modality: HostCode = Field(min_length=1, max_length=16, description="MODAL, the host's code.")
    setting: HostCode | None = Field(default=None, max_length=16, description="MODSET.")
    referred_on: dt.date | None = Field(default=None, description="REFMODDT.")
    first_offered_on: dt.date | None = Field(default=None, description="FAOMODDT.")
    started_on: dt.date = Field(description="MODST.")
    ended_on: dt.date | None = Field(default=None, description="MODEND.")
    exit_status: HostCode | None = Field(default=None, max_length=16, description="MODEXIT.")
    post_treatment: bool = Field(
        default=False,
        description="Post-treatment recovery support, delivered after discharge.",
    )
    reviews: tuple[ReviewPoint, ...] = Field(
        default=(), description="The host's reviews; empty: use the context's review policy."
    )

    @model_validator(mode="after")
    def _in_order(self) -> Intervention:
        if self.ended_on is not None and self.ended_on < self.started_on:
            raise ValueError("ended_on is before started_on")
        if self.referred_on is not None and self.referred_on > self.started_on:
            raise ValueError("referred_on is after started_on")
        ids = [r.review_id for r in self.reviews]
        if len(set(ids)) != len(ids):
            raise ValueError("two reviews share a review_id")
        return self


class NdtmsContext(FamaModel):
    """A client's treatment episode, its interventions and how reviews are dated.

    One line of the NDTMS *contexts file* (JSON lines, ascending client id; a
    client with several treatment episodes has one line each, together):
    ``fama ndtms export`` and ``completeness`` read it. Published as
    ``schemas/ndtms-context.schema.json``.
    """

    treatment: TreatmentContext
    interventions: tuple[Intervention, ...] = Field(
        default=(), description="Interventions in which FAMA may be recorded."
    )
    review_policy: ReviewPolicy | None = Field(
        default=None, description="Used for interventions without host reviews."
    )
    keyworker_id: Identifier | None = Field(
        default=None, description="The host's keyworker, for completeness reports."
    )

    @model_validator(mode="after")
    def _unique(self) -> NdtmsContext:
        ids = [i.intervention_id for i in self.interventions]
        if len(set(ids)) != len(ids):
            raise ValueError("two interventions share an intervention_id")
        return self

    @property
    def client_id(self) -> str:
        """The host's client key (``CLIENTID``)."""
        return self.treatment.client_id
