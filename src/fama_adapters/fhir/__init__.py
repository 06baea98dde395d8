"""FHIR R4 adapter: fama's episodes, goals, journal, accompaniments and sessions as FHIR.

* :mod:`~fama_adapters.fhir.tables`: every mapping, declared once (rendered into ``docs/fhir.md``).
* :mod:`~fama_adapters.fhir.mapping`: pure functions, record → transaction Bundle → record.
* :mod:`~fama_adapters.fhir.questionnaire`: the hand-out 10 Questionnaire fama ships.
* :mod:`~fama_adapters.fhir.terminology`: fama's CodeSystems and ValueSets (``schemas/fhir/``).
* :mod:`~fama_adapters.fhir.client`: posts bundles over httpx with safe retries.
* :mod:`~fama_adapters.fhir.adapter`: the ``fhir-r4`` record system.
* :mod:`~fama_adapters.fhir.testing`: a loopback FHIR server for tests and demos.
"""

from __future__ import annotations

from fama_adapters.fhir.adapter import FhirR4RecordSystem
from fama_adapters.fhir.client import (
    EntryOutcome,
    FhirClient,
    FhirRefused,
    FhirResponseInvalid,
    FhirUnavailable,
    IssueSummary,
    TransactionOutcome,
)
from fama_adapters.fhir.mapping import (
    FHIR_MEDIA_TYPE,
    CarriedEpisode,
    FhirSystems,
    ReadBack,
    carried,
    client_bundle,
    read_bundle,
)
from fama_adapters.fhir.questionnaire import journal_questionnaire

__all__ = [
    "FHIR_MEDIA_TYPE",
    "CarriedEpisode",
    "EntryOutcome",
    "FhirClient",
    "FhirR4RecordSystem",
    "FhirRefused",
    "FhirResponseInvalid",
    "FhirSystems",
    "FhirUnavailable",
    "IssueSummary",
    "ReadBack",
    "TransactionOutcome",
    "carried",
    "client_bundle",
    "journal_questionnaire",
    "read_bundle",
]
