"""Fuzzing every `fama` command that reads a file: no traceback, a documented exit code, no canary.

Each example takes one command of :data:`~tests.fuzz.corpus.TARGETS`, replaces the
one input it fuzzes with a hostile version of a valid file and runs the command
in-process. Three kinds of hostile input:

- *canary*: a valid document with one value replaced by text carrying the canary,
  in a field whose value fama must never print (free text, dates, codes, the
  event kind …; not the identifiers and meeting names that outputs show by design);
- *shape*: a valid document with one value replaced by another JSON shape (deep
  nesting, a 100,000-digit number, a list, null, a huge string, control characters);
- *bytes*: the valid file's bytes cut, spliced, doubled or salted with random bytes,
  a byte-order mark, NUL or the MLLP framing bytes.

The run is bounded for ``make test`` (``FAMA_FUZZ_EXAMPLES`` per command, default
6); set it higher for a long run, e.g. ``FAMA_FUZZ_EXAMPLES=5000 pytest tests/fuzz``.
Every example's outcome is counted into ``FAMA_FUZZ_COUNT_FILE`` when that is set.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fama_adapters.cli import ExitCode

from .corpus import TARGETS, Target, build, run

CANARY = "QZCANARY"
EXAMPLES = int(os.environ.get("FAMA_FUZZ_EXAMPLES", "6"))
DOCUMENTED = {int(code) for code in ExitCode} - {ExitCode.INTERNAL, ExitCode.INTERRUPTED}

# Values outputs show by design (docs/cli.md: "ids, codes, dates and meeting names are shown
# as recorded"): a canary there proves nothing, so it is planted everywhere else.
SHOWN_KEYS = {
    "event_id",
    "client_id",
    "episode_id",
    "keyworker_id",
    "meeting_id",
    "goal_id",
    "commitment_id",
    "arrangement_id",
    "volunteer_id",
    "treatment_episode_id",
    "intervention_id",
    "review_id",
    "agency_code",
    "slug",
    "id",
    "name",
    "types",
    "formats",
    "organisation",
    "partnership",
    "location",
    "address",
    "formatted_address",
    "group",
    "meeting_name",
    "url",
    "conference_url",
    "source",
    "lead",
    "file",
    "agency",
}
SHOWN_CSV_COLUMNS = {"Group name", "Meeting ID", "Types", "Organisation", "AGNCY", "CLIENTID"}


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("fuzz"))


# ----------------------------------------------------------------- hostile values

canary_text = st.builds(
    lambda a, b: f"{a}{CANARY}{b}",
    st.text(max_size=8),
    st.sampled_from(["", "=cmd|x", "\x0b\x1c", "\r\n", "\x00", "'\"<>&", "|^~\\&", "\u202e"]),
)
shapes = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            [],
            {},
            0,
            -1,
            2**80,
            1e308,
            "",
            "x" * 200_000,
            "\x00\x0b\x1c\r",
        ]
    ),
    st.integers(min_value=1, max_value=120).map(lambda n: json.loads("[" * n + "]" * n)),
    st.text(max_size=40),
    st.integers(),
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str | None]]:
    """Every scalar position in a JSON value, with the key that holds it."""
    found: list[tuple[tuple[Any, ...], str | None]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _leaves(v, (*path, k)) if isinstance(v, dict | list) else [((*path, k), k)]
    elif isinstance(value, list):
        for i, v in enumerate(value):
            key = path[-1] if path and isinstance(path[-1], str) else None
            found += _leaves(v, (*path, i)) if isinstance(v, dict | list) else [((*path, i), key)]
    return found


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return doc


def _mutate_json(draw: Any, doc: Any, *, canary: bool) -> tuple[Any, bool]:
    leaves = _leaves(doc)
    if canary:
        leaves = [(p, k) for p, k in leaves if k not in SHOWN_KEYS]
    if not leaves:
        return doc, False
    path, _ = draw(st.sampled_from(leaves))
    new = draw(canary_text if canary else shapes)
    return _replace(doc, path, new), canary


def _mutate_lines(draw: Any, text: str, *, canary: bool) -> tuple[bytes, bool]:
    lines = text.splitlines()
    i = draw(st.integers(0, len(lines) - 1))
    doc, planted = _mutate_json(draw, json.loads(lines[i]), canary=canary)
    lines[i] = json.dumps(doc)
    return ("\n".join(lines) + "\n").encode(), planted


def _mutate_csv(draw: Any, text: str, *, canary: bool) -> tuple[bytes, bool]:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    cols = [i for i, h in enumerate(header) if h not in SHOWN_CSV_COLUMNS]
    r = draw(st.integers(1, len(rows) - 1))
    c = draw(st.sampled_from(cols))
    rows[r][c] = draw(canary_text) if canary else str(draw(shapes))[:300_000]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue().encode(), canary


def _mutate_hl7(draw: Any, text: str, *, canary: bool) -> tuple[bytes, bool]:
    segments = [s.split("|") for s in text.replace("\n", "\r").split("\r")]
    # PID-3 (the client id), PV1-19 (the treatment episode), PV1-36 (the discharge code), PV1-39
    # (the servicing facility, read as the agency code) and
    # MSH-4 (the sending facility, read as the agency code) are printed by design
    choices = [
        (s, f)
        for s, seg in enumerate(segments)
        for f in range(1, len(seg))
        if not (seg[0] == "PID" and f == 3)
        and not (seg[0] == "PV1" and f in (19, 36, 39))
        and not (seg[0] == "MSH" and f in (1, 2, 3))
    ]
    s, f = draw(st.sampled_from(choices))
    segments[s][f] = draw(canary_text) if canary else str(draw(shapes))[:300_000]
    return "\r".join("|".join(seg) for seg in segments).encode(), canary


@st.composite
def hostile(draw: Any, target: Target, valid_bytes: bytes) -> tuple[bytes, bool]:
    """A hostile version of ``valid_bytes`` and whether a canary was planted in it."""
    how = draw(st.sampled_from(["canary", "shape", "bytes"]))
    text = valid_bytes.decode("utf-8")
    if how != "bytes":
        canary = how == "canary"
        if target.kind == "jsonl":
            return _mutate_lines(draw, text, canary=canary)
        if target.kind == "json":
            doc, planted = _mutate_json(draw, json.loads(text), canary=canary)
            return json.dumps(doc).encode(), planted
        if target.kind == "csv":
            return _mutate_csv(draw, text, canary=canary)
        return _mutate_hl7(draw, text, canary=canary)
    data = bytearray(valid_bytes)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cut", "insert", "double", "flip", "prefix"]))
        at = draw(st.integers(0, len(data)))
        if op == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "insert":
            data[at:at] = draw(
                st.binary(max_size=20)
                | st.sampled_from(
                    [b"\xef\xbb\xbf", b"\x00", b"\x0b", b"\x1c\r", b"[" * 5000, b"9" * 5000]
                )
            )
        elif op == "double":
            data[at:at] = data[: draw(st.integers(0, len(data)))]
        elif op == "flip" and data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
        else:
            data[:0] = b"\xef\xbb\xbf"
    return bytes(data), False


def _count(target: Target, code: int) -> None:
    path = os.environ.get("FAMA_FUZZ_COUNT_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{target.name}\t{code}\n")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_no_command_crashes_or_prints_a_planted_value(valid: Path, target: Target) -> None:
    valid_bytes = (valid / target.fuzzed).read_bytes()

    @settings(
        max_examples=EXAMPLES,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=hostile(target, valid_bytes))
    def check(case: tuple[bytes, bool]) -> None:
        content, planted = case
        path = valid / f"fuzz-{uuid.uuid4().hex}{Path(target.fuzzed).suffix}"
        path.write_bytes(content)
        try:
            code, out, err = run(*target.command(valid, path))
        finally:
            path.unlink()
        _count(target, code)
        assert code in DOCUMENTED, err[-500:]
        assert "Traceback" not in err, err[-2000:]
        if planted:
            assert CANARY not in out, out[-2000:]
            assert CANARY not in err, err[-2000:]

    check()
