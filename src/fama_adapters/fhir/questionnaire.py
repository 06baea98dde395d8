"""The Questionnaire fama ships for hand-out 10 (the client's mutual aid journal).

A FHIR R4 Questionnaire, packaged as ``data/handout-10-journal.questionnaire.json``
with the canonical URL :data:`~fama_adapters.fhir.tables.JOURNAL_QUESTIONNAIRE_URL`;
each journal entry becomes a QuestionnaireResponse against it. Its items are
those of :data:`~fama_adapters.fhir.tables.JOURNAL_ITEMS` (a test keeps the two equal).
A host loads it into its FHIR server once, so forms and validators can find it.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["QUESTIONNAIRE_FILE", "journal_questionnaire"]

QUESTIONNAIRE_FILE = "handout-10-journal.questionnaire.json"
"""Name of the packaged Questionnaire under ``fama_adapters/fhir/data``."""


def journal_questionnaire() -> dict[str, Any]:
    """The hand-out 10 Questionnaire as a JSON-ready dict (a fresh copy each call)."""
    text = files("fama_adapters.fhir").joinpath("data", QUESTIONNAIRE_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
