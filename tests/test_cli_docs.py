"""docs/cli.md shows the real messages of `fama record`: this test runs its example and compares."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

from fama_adapters.cli import main
from fama_core.builders import JourneyBuilder
from fama_core.events import event_to_json

ROOT = Path(__file__).parent.parent


def visits() -> list[str]:
    """The file of docs/cli.md's example: c2's session 1 comes before c2 was opened; line 6 is
    not an event kind fama knows."""
    c1 = JourneyBuilder("c1", start=dt.date(2026, 3, 2)).open().session1()
    c2 = JourneyBuilder("c2", start=dt.date(2026, 3, 2)).open().session1()
    c1.session2(reason="not ready this week")
    bad = json.loads(event_to_json(c1.events[0]))
    bad.update(kind="session_4_held", event_id="c1-ep1-e9")
    lines = [c1.events[0], c1.events[1], c2.events[1], c1.events[2]]
    return [*(event_to_json(e) for e in lines[:3]), event_to_json(lines[3]), json.dumps(bad)]


def run_example(tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "visits.jsonl"
    path.write_text("\n".join(visits()) + "\n", "utf-8")
    store = f"sqlite:///{tmp_path / 'fama.db'}"
    assert main(["init", "--store", store], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    out, err = io.StringIO(), io.StringIO()
    code = main(["record", str(path), "--store", store], stdout=out, stderr=err)
    return int(code), (err.getvalue() + out.getvalue()).replace(str(path), "visits.jsonl")


def documented() -> tuple[list[str], int]:
    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    start = re.escape("```text\n$ fama record visits.jsonl --store sqlite:///fama.db\n")
    block = re.search(start + r"(.*?)\$ echo \$\?\n(\d+)\n```", text, re.S)
    assert block, "docs/cli.md lost its fama record example"
    return block.group(1).splitlines(), int(block.group(2))


def test_the_record_example_in_docs_cli_md_is_what_fama_prints(tmp_path):
    code, printed = run_example(tmp_path)
    lines, documented_code = documented()
    assert printed.splitlines() == lines
    assert code == documented_code
