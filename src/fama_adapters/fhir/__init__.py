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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "FhirR4RecordSystem": "adapter",
    **dict.fromkeys(
        (
            "EntryOutcome",
            "FhirClient",
            "FhirRefused",
            "FhirResponseInvalid",
            "FhirUnavailable",
            "IssueSummary",
            "TransactionOutcome",
        ),
        "client",
    ),
    **dict.fromkeys(
        (
            "FHIR_MEDIA_TYPE",
            "CarriedEpisode",
            "FhirSystems",
            "ReadBack",
            "carried",
            "client_bundle",
            "read_bundle",
        ),
        "mapping",
    ),
    "journal_questionnaire": "questionnaire",
}
"""Each public name and its submodule: imported on first use, so ``fama fhir terminology``
or the Questionnaire do not import httpx and the client (PEP 562)."""


def __getattr__(name: str) -> Any:
    """Import a public name's submodule on first use (``from fama_adapters.fhir import …``)."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


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
