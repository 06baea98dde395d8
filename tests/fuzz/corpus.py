"""Valid inputs for every `fama` command that reads a file, and the command lines that read them.

Each :class:`Target` names one command and one input it reads; the fuzz tests
replace that one input with hostile bytes (the others stay valid) and run the
command. ``build(folder)`` writes the valid set once.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from fama_adapters.cli import main
from fama_adapters.hl7v2 import er7
from fama_adapters.hl7v2.messages import build_adt
from fama_adapters.plugins import PluginHost
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, Obstacle
from fama_core.context import TreatmentContext
from fama_core.events import event_to_json
from fama_core.ndtms import Intervention, NdtmsContext, ReviewPolicy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
START = dt.date(2026, 1, 5)

__all__ = ["TARGETS", "Target", "build", "run"]


_HOST: list[PluginHost] = []


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``fama`` in-process with one shared plugin host (loading plugins is most of a run)."""
    if not _HOST:
        _HOST.append(PluginHost())
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, host=_HOST[0])
    return code, out.getvalue(), err.getvalue()


@dataclass(frozen=True)
class Target:
    """A command line with ``{name}`` placeholders for the files of the valid set.

    ``fuzzed`` is the file the fuzz tests replace; ``kind`` says what it holds
    (``jsonl-events``, ``json``, ``csv``, ``hl7``, ``jsonl-contexts``) so a
    strategy can mutate a valid one.
    """

    name: str
    argv: tuple[str, ...]
    fuzzed: str
    kind: str

    def command(self, folder: Path, fuzzed_path: Path) -> list[str]:
        files = {f: str(folder / f) for f in _FILES}
        files[self.fuzzed] = str(fuzzed_path)
        files["out"] = str(folder / "out")
        argv = []
        for arg in self.argv:
            for name, path in files.items():
                arg = arg.replace("{" + name + "}", path)
            argv.append(arg)
        return argv


def _journey(client: str) -> list[object]:
    b = JourneyBuilder(client, start=START, keyworker_id="kw-1")
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).obstacle(Obstacle.GETTING_THERE)
    b.session2(commit_to=m)
    return list(b.events)


def _context(client: str) -> NdtmsContext:
    return NdtmsContext(
        treatment=TreatmentContext(
            client_id=client,
            treatment_episode_id="E1",
            agency_code="AG001",
            started_on=dt.date(2026, 1, 1),
            consent_to_share=True,
        ),
        interventions=(
            Intervention(intervention_id="M1", modality="RECSUP", started_on=dt.date(2026, 1, 1)),
        ),
        review_policy=ReviewPolicy(interval_days=14),
    )


_FILES = (
    "events.jsonl",
    "client.jsonl",
    "contexts.jsonl",
    "extract.csv",
    "completeness.json",
    "directory.json",
    "feed.json",
    "bmlt.json",
    "sources.json",
    "list.csv",
    "request.json",
    "assessment.json",
    "adt.hl7",
    "tokens.json",
    "changes.json",
    "fama.db",
    "out",
)


def build(folder: Path) -> Path:
    """Write the valid set into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    events = [e for c in ("fz-c1", "fz-c2") for e in _journey(c)]
    (folder / "events.jsonl").write_text("".join(event_to_json(e) + "\n" for e in events), "utf-8")
    (folder / "client.jsonl").write_text(
        "".join(event_to_json(e) + "\n" for e in _journey("fz-c1")), "utf-8"
    )
    (folder / "contexts.jsonl").write_text(
        "".join(_context(c).model_dump_json() + "\n" for c in ("fz-c1", "fz-c2")), "utf-8"
    )
    shutil.copy(EXAMPLES / "meetings" / "aa-northbridge.json", folder / "feed.json")
    shutil.copy(EXAMPLES / "meetings" / "local-list.csv", folder / "list.csv")
    shutil.copy(EXAMPLES / "meetings" / "na-southbridge-bmlt.json", folder / "bmlt.json")
    sources = [
        {"file": "feed.json", "format": "meeting-guide", "organisation": "aa"},
        {"file": "bmlt.json", "format": "bmlt", "organisation": "na", "timezone": "Europe/London"},
        {"file": "list.csv", "format": "csv", "organisation": "smart"},
    ]
    (folder / "sources.json").write_text(json.dumps(sources), "utf-8")
    shutil.copy(EXAMPLES / "commissioning" / "assessment.json", folder / "assessment.json")
    clients = json.loads((EXAMPLES / "meetings" / "clients.json").read_text("utf-8"))
    request = {k: v for k, v in clients["demo-c001"].items() if k != "note"}
    request["availability"]["week_starts"] = "2026-03-02"
    (folder / "request.json").write_text(json.dumps(request), "utf-8")
    ctx = TreatmentContext(client_id="c-1", treatment_episode_id="tx-9", started_on=START)
    when = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    (folder / "adt.hl7").write_text(
        er7.encode(build_adt("A01", ctx, control_id="m-1", recorded_at=when)), "utf-8"
    )
    code, _, err = run(
        "meetings", "import", str(folder / "feed.json"), "--out", str(folder / "directory.json")
    )
    assert code in (0, 1), err
    code, _, err = run(
        "ndtms",
        "export",
        "--events",
        str(folder / "events.jsonl"),
        "--contexts",
        str(folder / "contexts.jsonl"),
        "--out",
        str(folder / "extract.csv"),
        "--as-of",
        "2026-06-01",
    )
    assert code in (0, 1), err
    code, out, err = run(
        "ndtms",
        "completeness",
        "--events",
        str(folder / "events.jsonl"),
        "--contexts",
        str(folder / "contexts.jsonl"),
        "--as-of",
        "2026-06-01",
        "--json",
    )
    assert code in (0, 1), err
    (folder / "completeness.json").write_text(out, "utf-8")
    code, _, err = run(
        "tokens",
        "issue",
        "--file",
        str(folder / "tokens.json"),
        "--agency",
        "AG001",
        "--role",
        "keyworker",
        "--name",
        "fuzz",
    )
    assert code == 0, err
    code, _, err = run(
        "meetings", "refresh", str(folder / "sources.json"), "--directory", str(folder / "r.json")
    )
    assert code in (0, 1), err
    (folder / "r.changes.json").rename(folder / "changes.json")
    db = folder / "fama.db"
    assert run("init", "--store", str(db))[0] == 0
    assert run("record", str(folder / "events.jsonl"), "--store", str(db))[0] == 0
    (folder / "out").mkdir(exist_ok=True)
    return folder


_EV = ("--events", "{events.jsonl}")
_NDTMS_AS_OF = ("--as-of", "2026-06-01")

TARGETS: tuple[Target, ...] = (
    Target("record", ("record", "{events.jsonl}", "--store", "memory://"), "events.jsonl", "jsonl"),
    Target(
        "record --json",
        ("record", "{events.jsonl}", "--store", "memory://", "--json"),
        "events.jsonl",
        "jsonl",
    ),
    Target("hl7 read", ("hl7", "read", "{adt.hl7}"), "adt.hl7", "hl7"),
    Target("hl7 read --json", ("hl7", "read", "{adt.hl7}", "--json"), "adt.hl7", "hl7"),
    Target(
        "fhir bundle",
        ("fhir", "bundle", "{events.jsonl}", "--out", "{out}"),
        "events.jsonl",
        "jsonl",
    ),
    Target(
        "ndtms export (events)",
        ("ndtms", "export", *_EV, "--contexts", "{contexts.jsonl}", "--out", "{out}/x.csv")
        + _NDTMS_AS_OF,
        "events.jsonl",
        "jsonl",
    ),
    Target(
        "ndtms export (contexts)",
        ("ndtms", "export", *_EV, "--contexts", "{contexts.jsonl}", "--out", "{out}/x.csv")
        + _NDTMS_AS_OF,
        "contexts.jsonl",
        "jsonl",
    ),
    Target(
        "ndtms validate",
        ("ndtms", "validate", "{extract.csv}", *_NDTMS_AS_OF),
        "extract.csv",
        "csv",
    ),
    Target(
        "ndtms completeness (contexts)",
        ("ndtms", "completeness", *_EV, "--contexts", "{contexts.jsonl}", "--json") + _NDTMS_AS_OF,
        "contexts.jsonl",
        "jsonl",
    ),
    Target(
        "ndtms completeness (extract)",
        ("ndtms", "completeness", *_EV, "--contexts", "{contexts.jsonl}")
        + ("--extract", "{extract.csv}")
        + _NDTMS_AS_OF,
        "extract.csv",
        "csv",
    ),
    Target(
        "ndtms merge",
        ("ndtms", "merge", "{extract.csv}", *_EV, "--out", "{out}/m.csv", *_NDTMS_AS_OF),
        "extract.csv",
        "csv",
    ),
    Target("meetings import (json)", ("meetings", "import", "{feed.json}"), "feed.json", "json"),
    Target("meetings import (csv)", ("meetings", "import", "{list.csv}"), "list.csv", "csv"),
    Target(
        "meetings import (bmlt)",
        ("meetings", "import", "{bmlt.json}", "--format", "bmlt"),
        "bmlt.json",
        "json",
    ),
    Target(
        "meetings refresh (sources)",
        ("meetings", "refresh", "{sources.json}", "--directory", "{out}/refreshed.json"),
        "sources.json",
        "json",
    ),
    Target("tokens list", ("tokens", "list", "--file", "{tokens.json}"), "tokens.json", "json"),
    Target(
        "show --meeting-changes",
        ("show", "fz-c1", "--store", "{fama.db}", "--meeting-changes", "{changes.json}"),
        "changes.json",
        "json",
    ),
    Target(
        "meetings match (request)",
        ("meetings", "match", "{directory.json}", "--request", "{request.json}"),
        "request.json",
        "json",
    ),
    Target(
        "meetings match (directory)",
        ("meetings", "match", "{directory.json}", "--request", "{request.json}", "--json"),
        "directory.json",
        "json",
    ),
    Target(
        "pack (events)",
        (
            "pack",
            "--events",
            "{client.jsonl}",
            "--directory",
            "{directory.json}",
            "--request",
            "{request.json}",
        )
        + ("--out", "{out}/p.html"),
        "client.jsonl",
        "jsonl",
    ),
    Target(
        "pack (directory)",
        (
            "pack",
            "--events",
            "{client.jsonl}",
            "--directory",
            "{directory.json}",
            "--request",
            "{request.json}",
        )
        + ("--out", "{out}/p.html"),
        "directory.json",
        "json",
    ),
    Target(
        "report (events)",
        ("report", *_EV, "--out", "{out}/r", "--as-of", "2026-07-31"),
        "events.jsonl",
        "jsonl",
    ),
    Target(
        "report (meetings)",
        ("report", *_EV, "--meetings", "{directory.json}", "--out", "{out}/r"),
        "directory.json",
        "json",
    ),
    Target(
        "report (assessment)",
        ("report", *_EV, "--assessment", "{assessment.json}", "--out", "{out}/r"),
        "assessment.json",
        "json",
    ),
    Target(
        "report (completeness)",
        ("report", *_EV, "--ndtms-completeness", "{completeness.json}", "--out", "{out}/r"),
        "completeness.json",
        "json",
    ),
)
