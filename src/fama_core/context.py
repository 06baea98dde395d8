"""The treatment context a host supplies around a FAMA episode.

FAMA happens inside a treatment episode that the host's case system owns:
admission, discharge, transfer, merge of duplicate records, consent to share
with NDTMS. fama does not decide these; it receives them (from the host's API,
an HL7 ADT feed …) and uses them to end episodes, derive NDTMS rows and check
dates. Identifiers are the host's pseudonymous keys.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from fama_core.models import FamaModel, Identifier

__all__ = ["AGENCY_CODE", "HostCode", "TreatmentContext"]

AGENCY_CODE: re.Pattern[str] = re.compile(r"[A-Za-z0-9]{1,16}")
"""What an agency code (NDTMS ``AGNCY``) may be, checked with ``fullmatch``: 1 to 16 ASCII
letters or digits.

NDTMS agency codes and the NHS ODS organisation codes hosts also use (``RXT``, ``NQ1``,
``Y02501``) are short runs of letters and digits. The code names an NDTMS extract file
(``<AGNCY>-<from>-<to>-…csv``, where ``-`` separates the parts) and, in ``fama serve``, a
token's agency and the store it picks, so nothing else (spaces, punctuation, markup, control
or bidirectional characters) can be one. ``docs/decisions.md``, O2.
"""

HostCode = Annotated[str, StringConstraints(pattern="^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$")]
"""A code as the host's case system records it (agency, modality, exit reason …).

Any printable text: control characters and line breaks are refused, since a
code is written into fixed-layout files (an NDTMS extract) where they would
break the record.
"""


class TreatmentContext(FamaModel):
    """One treatment episode of a client, as the host's case system knows it."""

    client_id: Identifier = Field(description="The host's pseudonymous client key.")
    treatment_episode_id: Identifier = Field(description="The host's treatment episode key.")
    agency_code: HostCode | None = Field(
        default=None, max_length=16, description="The provider's agency code (NDTMS AGNCY)."
    )
    started_on: dt.date = Field(description="Admission / triage date.")
    ended_on: dt.date | None = Field(default=None, description="Discharge date, once discharged.")
    end_reason: HostCode | None = Field(
        default=None, max_length=32, description="The host's discharge / exit reason code."
    )
    transferred: bool = Field(default=False, description="Ended by transfer to another service.")
    merged_into: Identifier | None = Field(
        default=None, description="This client record was merged into another client key."
    )
    consent_to_share: bool | None = Field(
        default=None, description="Consent to share with NDTMS; None when not recorded."
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> TreatmentContext:
        if self.ended_on is not None and self.ended_on < self.started_on:
            raise ValueError("ended_on is before started_on")
        return self
