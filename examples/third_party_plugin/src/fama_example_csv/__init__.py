"""fama-example-csv: goals as CSV rows, a worked example of a third-party record system."""

from __future__ import annotations

import csv
import io

from fama_adapters.hookspecs import hookimpl
from fama_adapters.record_systems import InboundResult, OutboundDocument

__all__ = ["CsvGoals", "fama_register_record_systems"]


class CsvGoals:
    """Writes one CSV row per goal of the client's current episode; reads nothing back."""

    name = "example-csv"
    description = "goals as CSV rows (example third-party plugin)"

    def outbound(self, state, events):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["client_id", "goal_id", "kind", "status", "target_date"])
        episode = state.current
        for g in episode.goals if episode else ():
            writer.writerow(
                [state.client_id, g.goal.goal_id, g.goal.kind, g.status, g.goal.target_date or ""]
            )
        name = f"{state.client_id}-goals.csv"
        return [OutboundDocument(name, "text/csv", out.getvalue().encode())]

    def inbound(self, payload):
        return InboundResult()


@hookimpl
def fama_register_record_systems(register):
    """Register the CSV record system."""
    register(CsvGoals())
