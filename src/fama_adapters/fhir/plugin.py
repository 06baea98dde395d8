"""Built-in plugin: registers the ``fhir-r4`` record system and the FHIR demo step.

Registered like any third-party plugin (listed in
:data:`fama_adapters.plugins.BUILTIN_PLUGINS`), so it doubles as an example.
The demo step writes each demo client's transaction Bundle and fama's
hand-out 10 Questionnaire under ``out/demo/fhir/``, then posts every bundle
twice to a loopback :class:`~fama_adapters.fhir.testing.FakeFhirServer` to
show that resubmission creates nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from fama_adapters.cli import DemoContext, DemoStep, render_table
from fama_adapters.fhir.adapter import FhirR4RecordSystem
from fama_adapters.fhir.client import FhirClient
from fama_adapters.fhir.questionnaire import QUESTIONNAIRE_FILE, journal_questionnaire
from fama_adapters.hookspecs import hookimpl
from fama_adapters.record_systems import RecordSystem

__all__ = ["fama_register_demo_steps", "fama_register_record_systems"]


@hookimpl
def fama_register_record_systems(register: Callable[[RecordSystem], None]) -> None:
    """The FHIR R4 record system, named ``fhir-r4``."""
    register(FhirR4RecordSystem())


def _demo(demo: DemoContext) -> None:
    from fama_adapters.fhir.testing import FakeFhirServer

    folder = demo.out / "fhir"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / QUESTIONNAIRE_FILE).write_text(
        json.dumps(journal_questionnaire(), indent=2) + "\n", "utf-8"
    )
    system = FhirR4RecordSystem()
    caseload = demo.data.get("caseload", {})
    events = demo.data.get("events", {})
    rows = []
    with FakeFhirServer() as server, httpx.Client(timeout=10.0) as http:
        client = FhirClient(server.base_url, http)
        for client_id, state in caseload.items():
            (doc,) = system.outbound(state, events.get(client_id, []))
            (folder / doc.name).write_bytes(doc.content)
            bundle = json.loads(doc.content)
            started = time.perf_counter()
            first = client.submit(bundle)
            again = client.submit(bundle)
            ms = (time.perf_counter() - started) * 1000
            kinds: dict[str, int] = {}
            for entry in bundle["entry"]:
                rtype = entry["resource"]["resourceType"]
                kinds[rtype] = kinds.get(rtype, 0) + 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            rows.append((client_id, summary, first.created, again.created, f"{ms:.0f}"))
        held = server.count()
    demo.cli.stdout.write(f"FHIR R4 transaction bundles ({folder})\n\n")
    demo.cli.stdout.write(
        render_table(
            ("client", "resources", "created", "created on resubmission", "ms (both posts)"),
            rows,
        )
    )
    demo.cli.stdout.write(
        f"\nloopback FHIR server holds {held} resources after every bundle was sent twice\n\n"
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Write the demo caseload as FHIR bundles and show idempotent resubmission."""
    register(DemoStep("fhir-r4", 40, _demo))
