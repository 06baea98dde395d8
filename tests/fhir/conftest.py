"""Fixtures shared by the FHIR adapter tests: the sample journeys, folded."""

from __future__ import annotations

from pathlib import Path

import pytest

from fama_adapters.cli.core_commands import load_journeys
from fama_core.workflow import fold

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="session")
def journeys():
    """``[(client_id, state, events)]`` for every sample journey in examples/journeys."""
    out = []
    for _name, _title, events in load_journeys(ROOT / "examples" / "journeys"):
        state = fold(events)
        out.append((state.client_id, state, events))
    return out
