"""The sample journeys fold to the outcomes the examples promise."""

from pathlib import Path

from fama_adapters.cli.core_commands import load_journeys
from fama_core import fold

EXAMPLES = Path(__file__).parent.parent / "examples" / "journeys"


def test_sample_journeys_reach_their_documented_outcomes():
    outcomes = {name: fold(events).status for name, _, events in load_journeys(EXAMPLES)}
    assert outcomes == {
        "engaged-after-two-cycles": "engaged",
        "declined-after-session-1": "declined",
        "nervous-with-peer": "engaged",
        "experienced-relapsed": "committed",
        "transferred": "closed",
    }
