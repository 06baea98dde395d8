"""docs/cli.md shows the real messages: every example in it is run here and compared.

Each ```text block of docs/cli.md is either a terminal session (lines starting
``$ fama …`` or ``$ echo $?``, each followed by what it printed) or the
template of the internal-error message. A session is replayed in a fresh
folder prepared by the setup named for its first command (the files the
example talks about, the store it expects), with standard output and standard
error written to one stream in order, as a terminal shows them. Only what
truly varies between runs is normalised: a store's seal (a digest of the
run's hashes) and the time of an erasure. A new example with no setup fails here, so none can go
unchecked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shlex
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from fama_adapters.cli import Command, main
from fama_adapters.facade import Fama
from fama_adapters.hookspecs import hookimpl
from fama_adapters.plugins import PluginHost
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, VolunteerKind
from fama_core.events import event_to_json

ROOT = Path(__file__).parent.parent
CLI_MD = (ROOT / "docs" / "cli.md").read_text("utf-8")
STORE = "sqlite:///fama.db"


def text_blocks() -> list[str]:
    return re.findall(r"^```text\n(.*?)^```$", CLI_MD, re.S | re.M)


def sessions() -> list[str]:
    return [b for b in text_blocks() if b.startswith("$ ")]


def first_command(block: str) -> str:
    return block.splitlines()[0][2:]


# ---------------------------------------------------------------- the files the examples use


def lines_file(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", "utf-8")


def visits() -> list[str]:
    """docs/cli.md's visits.jsonl: line 3 is c2's session 1 before c2 was opened; line 5 is
    not an event kind fama knows."""
    c1 = JourneyBuilder("c1", start=dt.date(2026, 3, 2)).open().session1()
    c2 = JourneyBuilder("c2", start=dt.date(2026, 3, 2)).open().session1()
    c1.session2(reason="not ready this week")
    bad = json.loads(event_to_json(c1.events[0]))
    bad.update(kind="session_4_held", event_id="c1-ep1-e9")
    lines = [c1.events[0], c1.events[1], c2.events[1], c1.events[2]]
    return [*(event_to_json(e) for e in lines), json.dumps(bad)]


def engaged_journey_of_the_event_reference() -> list[str]:
    """The complete journey docs/event-reference.md shows as "Ends engaged", as a newcomer
    would copy it."""
    text = (ROOT / "docs" / "event-reference.md").read_text("utf-8")
    block = re.search(r"### Ends engaged\n\n```json\n(.*?)\n```", text, re.S)
    assert block, "docs/event-reference.md lost its engaged journey"
    return block.group(1).splitlines()


def record(path: Path, *args: str) -> None:
    assert main(["record", str(path), *args], stdout=io.StringIO(), stderr=io.StringIO()) in (0, 1)


def init() -> None:
    assert main(["init", "--store", STORE], stdout=io.StringIO(), stderr=io.StringIO()) == 0


def first_steps(folder: Path) -> None:
    lines_file(folder / "journey.jsonl", engaged_journey_of_the_event_reference())


def the_first_steps_journey_recorded(folder: Path) -> None:
    first_steps(folder)
    init()
    record(folder / "journey.jsonl", "--store", STORE)


def visits_in_a_new_store(folder: Path) -> None:
    lines_file(folder / "visits.jsonl", visits())
    init()


def three_clients_one_edited(folder: Path) -> None:
    """Three clients of four events each; c2's third event then edited outside fama."""
    init()
    events = []
    for client in ("c1", "c2", "c3"):
        b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2026, 3, 2))
        events += b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(reason="not yet").events
    lines_file(folder / "all.jsonl", [event_to_json(e) for e in events])
    record(folder / "all.jsonl", "--store", STORE)
    conn = sqlite3.connect(folder / "fama.db", isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS fama_events_no_update")
    conn.execute(
        "UPDATE fama_events SET payload = replace(payload, 'kw-1', 'kw-9') "
        "WHERE client_id = 'c2' AND version = 3"
    )
    conn.close()


def an_arrangement_stored_before_its_rule(folder: Path) -> None:
    """An older fama stored a group member's arrangement without the volunteer's attendance."""
    init()
    b = JourneyBuilder("c-1042", keyworker_id="kw-7", start=dt.date(2026, 3, 2))
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany("vol-3", kind=VolunteerKind.GROUP_MEMBER, attends_consistently=None)
    with Fama.open(STORE) as fama:  # around today's workflow, as the older fama wrote it
        fama.store.append(b.client_id, b.events, expected_version=0)


SETUPS: dict[str, Callable[[Path], None]] = {
    "fama record journey.jsonl": first_steps,
    "fama record visits.jsonl --store sqlite:///fama.db": visits_in_a_new_store,
    "fama record visits.jsonl --store sqlite:///fama.db --json": visits_in_a_new_store,
    "fama verify --store sqlite:///fama.db": three_clients_one_edited,
    "fama replay --store sqlite:///fama.db": an_arrangement_stored_before_its_rule,
    "fama erase c-1042 --yes": the_first_steps_journey_recorded,
    "fama record visits.jsonl": lambda folder: None,  # the file is not there
}


# ---------------------------------------------------------------- running a session


def normalise(lines: list[str]) -> list[str]:
    """A store's seal and the time of an erasure differ from run to run."""
    lines = [re.sub(r"^seal [0-9a-f]+…?$", "seal <the store's seal>", line) for line in lines]
    return [
        re.sub(r"^(erased client \S+ at )\S+\+00:00:", r"\1<the time>:", line) for line in lines
    ]


def split_session(block: str) -> list[tuple[str, list[str]]]:
    """The commands of a session, each with the lines documented after it."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def replay(block: str, folder: Path) -> list[tuple[str, list[str], list[str]]]:
    """Run each command; (command, documented lines, printed lines) for each."""
    SETUPS[first_command(block)](folder)
    code = None
    out = []
    for command, documented in split_session(block):
        if command == "echo $?":
            printed = [str(code)]
        else:
            argv = shlex.split(command)
            assert argv[0] == "fama", command
            stream = io.StringIO()
            code = int(main(argv[1:], stdout=stream, stderr=stream))
            printed = stream.getvalue().splitlines()
        out.append((command, normalise(documented), normalise(printed)))
    return out


def test_every_session_in_docs_cli_md_has_a_setup():
    assert sorted(first_command(b) for b in sessions()) == sorted(SETUPS)


@pytest.mark.parametrize("block", sessions(), ids=first_command)
def test_the_example_prints_what_docs_cli_md_shows(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAMA_STORE", raising=False)
    monkeypatch.delenv("FAMA_DEBUG", raising=False)
    for command, documented, printed in replay(block, tmp_path):
        assert printed == documented, f"$ {command}"


def test_a_wrong_line_in_an_example_is_found(tmp_path, monkeypatch):
    """The comparison can fail: one changed word in a documented line is a difference."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAMA_STORE", raising=False)
    block = next(b for b in sessions() if first_command(b) == "fama record journey.jsonl")
    wrong = block.replace("0 refused", "1 refused", 1)
    assert any(d != p for _, d, p in replay(wrong, tmp_path))


def test_the_internal_error_template_is_what_fama_prints(monkeypatch):
    (template,) = [b for b in text_blocks() if b.startswith("fama COMMAND:")]
    monkeypatch.delenv("FAMA_DEBUG", raising=False)

    class Raises:
        @hookimpl
        def fama_register_commands(self, register):
            def boom(args, ctx):
                raise ValueError("a value")

            register(Command("boom", "raises", boom))

    host = PluginHost(entry_points=False)
    host.register(Raises(), name="raises")
    out, err = io.StringIO(), io.StringIO()
    code = main(["boom"], stdout=out, stderr=err, host=host)
    assert code == 70
    expected = template.replace("COMMAND", "boom").replace("ErrorClass", "ValueError")
    assert err.getvalue() == expected
