"""Built-in plugin: registers the ``hl7v2`` record system and its demo step.

Registered like any third-party plugin (``[project.entry-points.fama]`` in
``pyproject.toml``, and by import path in ``BUILTIN_PLUGINS``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from fama_adapters.cli import DemoContext, DemoStep, render_table
from fama_adapters.hl7v2.adapter import Hl7v2RecordSystem
from fama_adapters.hookspecs import hookimpl
from fama_adapters.record_systems import RecordSystem

__all__ = ["fama_register_demo_steps", "fama_register_record_systems"]


@hookimpl
def fama_register_record_systems(register: Callable[[RecordSystem], None]) -> None:
    """The HL7 v2.5 record system, named ``hl7v2``."""
    register(Hl7v2RecordSystem())


def _demo(demo: DemoContext) -> None:
    system = Hl7v2RecordSystem()
    folder = demo.out / "hl7"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.hl7"):
        old.unlink()
    rows = []
    total = 0
    for client_id, state in sorted(demo.data.get("caseload", {}).items()):
        events = demo.data["events"][client_id]
        kinds: Counter[str] = Counter()
        for n, message in enumerate(system.messages(state, events), 1):
            name = f"{client_id}-{n:03d}-{message.kind}.hl7"
            # CR between segments as HL7 requires; a trailing newline keeps editors happy.
            (folder / name).write_bytes(system.encode(message).encode("utf-8") + b"\r")
            kinds[message.kind] += 1
        total += sum(kinds.values())
        rows.append((client_id, kinds["goals"], kinds["referral"], kinds["session"]))
    demo.cli.stdout.write(f"HL7 v2.5 messages ({folder}): {total}\n\n")
    demo.cli.stdout.write(
        render_table(("client", "PGL goals", "REF^I12 referral", "ORU^R01 sessions"), rows)
    )
    demo.cli.stdout.write("\n")


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Write the demo caseload as HL7 v2.5 messages under ``out/demo/hl7/``."""
    register(DemoStep("hl7v2", 30, _demo))
