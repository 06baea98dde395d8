"""Issue 11, command line: each hostile or careless input that crashed `fama` or printed a value.

One test per finding (parametrised over the commands it hit); each failed on the main
before the fix, with a traceback (now exit 70) or the planted value in the output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fama_adapters.cli import ExitCode

from .corpus import TARGETS, build, run

CANARY = "ZQX-canary-5e1"


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("valid"))


def _clean(code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2, 3), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert CANARY not in out + err


HOSTILE_JSON = {
    "nested 100,000 deep": b"[" * 100_000,
    "objects nested 5,000 deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "nested 900 deep (under the recursion limit)": b"[" * 900 + b"]" * 900,
    "a 100,000-digit number": b'{"meetings": [' + b"1" * 100_000 + b"]}",
}
JSON_TARGETS = [t for t in TARGETS if t.kind == "json"]


@pytest.mark.parametrize("target", JSON_TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("content", HOSTILE_JSON.values(), ids=list(HOSTILE_JSON))
def test_hostile_json_documents_are_refused_with_a_message(valid, tmp_path, target, content):
    path = tmp_path / Path(target.fuzzed).name
    path.write_bytes(content)
    code, out, err = run(*target.command(valid, path))
    _clean(code, out, err)
    assert code == ExitCode.FAILED
    assert err.startswith("fama ")


JSONL_TARGETS = [t for t in TARGETS if t.kind == "jsonl"]


@pytest.mark.parametrize("target", JSONL_TARGETS, ids=lambda t: t.name)
def test_a_hostile_line_is_refused_and_the_rest_carries_on(valid, tmp_path, target):
    good = (valid / target.fuzzed).read_bytes()
    path = tmp_path / Path(target.fuzzed).name
    path.write_bytes(good + b"[" * 100_000 + b"\n" + b'{"a": ' + b"1" * 100_000 + b"}\n")
    code, out, err = run(*target.command(valid, path))
    _clean(code, out, err)
    if target.name != "ndtms completeness (contexts)":  # i12 owns completeness's exit (item 6)
        assert code in (ExitCode.PARTIAL, ExitCode.FAILED)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("how", ["missing", "a folder"])
def test_an_input_path_that_cannot_be_opened_is_a_message_not_a_traceback(
    valid, tmp_path, target, how
):
    if target.name == "tokens list" and how == "missing":
        pytest.skip("a missing token file is an empty list, by design (fama serve's first run)")
    path = tmp_path / "no-such-folder" / Path(target.fuzzed).name if how == "missing" else tmp_path
    code, out, err = run(*target.command(valid, path))
    _clean(code, out, err)
    assert code == ExitCode.USAGE, err
    assert repr(str(path)) in err  # named as given (decision O4)


OUT_COMMANDS = {
    "fhir bundle": ("fhir", "bundle", "{events.jsonl}", "--out", "OUT"),
    "meetings import": ("meetings", "import", "{feed.json}", "--out", "OUT"),
    "pack": (
        "pack",
        "--events",
        "{client.jsonl}",
        "--directory",
        "{directory.json}",
        "--request",
        "{request.json}",
        "--out",
        "OUT",
    ),
    "report": ("report", "--events", "{events.jsonl}", "--out", "OUT"),
    "demo": ("demo", "--out", "OUT"),
    "schema --write": ("schema", "--write", "--dir", "OUT"),
    "docs": ("docs", "--dir", "OUT"),
}


@pytest.mark.parametrize("argv", OUT_COMMANDS.values(), ids=list(OUT_COMMANDS))
@pytest.mark.parametrize("where", ["under a file", "under /proc"])
def test_an_unwritable_out_is_a_usage_error_naming_the_option(valid, tmp_path, argv, where):
    (tmp_path / "a-file").write_text("x")
    out_path = (
        tmp_path / "a-file" / "sub" / "o.x" if where == "under a file" else Path("/proc/nope/o")
    )
    command = []
    for arg in argv:
        for name in ("events.jsonl", "client.jsonl", "feed.json", "directory.json", "request.json"):
            arg = arg.replace("{" + name + "}", str(valid / name))
        command.append(str(out_path) if arg == "OUT" else arg)
    code, out, err = run(*command)
    _clean(code, out, err)
    assert code == ExitCode.USAGE
    assert "--out" in err or "--dir" in err


def _request(valid: Path, tmp_path: Path, change) -> Path:
    request = json.loads((valid / "request.json").read_text("utf-8"))
    change(request)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), "utf-8")
    return path


def test_an_availability_window_given_as_a_number_is_refused_not_a_crash(valid, tmp_path):
    def start_zero(r):
        r["availability"]["windows"][0]["start"] = 0

    path = _request(valid, tmp_path, start_zero)
    code, out, err = run("meetings", "match", str(valid / "directory.json"), "--request", str(path))
    _clean(code, out, err)
    assert code == ExitCode.FAILED and "availability.windows.0.start" in err


def test_an_unknown_language_in_a_saved_directory_is_refused_not_a_crash(valid, tmp_path):
    data = json.loads((valid / "directory.json").read_text("utf-8"))
    data["meetings"][0]["languages"] = [CANARY]
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data), "utf-8")
    for argv in (
        ("meetings", "match", str(path), "--request", str(valid / "request.json")),
        ("report", "--events", str(valid / "events.jsonl"), "--meetings", str(path)),
    ):
        code, out, err = run(*argv, "--json") if argv[0] == "meetings" else run(*argv)
        _clean(code, out, err)
        assert code == ExitCode.FAILED and "meetings[0] is not a valid meeting" in err


@pytest.mark.parametrize("command", ["meetings import", "report"])
def test_a_5000_character_time_zone_is_a_usage_error_that_does_not_repeat_it(valid, command):
    zone = CANARY * 500
    argv = (
        ("meetings", "import", str(valid / "feed.json"), "--timezone", zone)
        if command == "meetings import"
        else ("report", "--events", str(valid / "events.jsonl"), "--timezone", zone)
    )
    code, out, err = run(*argv)
    assert code == ExitCode.USAGE
    assert CANARY not in out + err


def test_a_5000_character_time_zone_in_a_saved_directory_is_refused(valid, tmp_path):
    data = json.loads((valid / "directory.json").read_text("utf-8"))
    data["meetings"][0]["timezone"] = CANARY * 500
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data), "utf-8")
    code, out, err = run("meetings", "match", str(path), "--request", str(valid / "request.json"))
    _clean(code, out, err)
    assert code == ExitCode.FAILED


def test_a_csv_field_over_128_kb_refuses_its_row_and_the_rest_import(valid, tmp_path):
    text = (valid / "list.csv").read_text("utf-8").splitlines()
    big = '"' + "x" * 200_000 + '"' + text[1][text[1].index(",") :]
    path = tmp_path / "list.csv"
    path.write_text("\n".join([text[0], big, *text[1:]]) + "\n", "utf-8")
    code, out, err = run("meetings", "import", str(path), "--json")
    _clean(code, out, err)
    data = json.loads(out)
    assert code == ExitCode.PARTIAL
    assert data["problems"][0]["record"] == "row 2"
    assert data["imported"] >= 2


def test_a_bad_kind_is_never_printed_by_record(valid, tmp_path):
    line = json.loads((valid / "events.jsonl").read_text("utf-8").splitlines()[0])
    line["kind"] = CANARY
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(line) + "\n", "utf-8")
    for extra in ((), ("--json",)):
        code, out, err = run("record", str(path), "--store", "memory://", *extra)
        _clean(code, out, err)
        assert code == ExitCode.PARTIAL and "kind" in out


def test_a_bad_kind_in_the_store_is_never_printed_by_replay(valid, tmp_path):
    import sqlite3

    db = tmp_path / "fama.db"
    assert run("init", "--store", str(db))[0] == 0
    assert run("record", str(valid / "events.jsonl"), "--store", str(db))[0] == 0
    payload = json.loads((valid / "events.jsonl").read_text("utf-8").splitlines()[0])
    payload.update(kind=CANARY, client_id="other", event_id="other-e1")
    with sqlite3.connect(db) as conn:  # a row written around fama, as another tool might
        conn.execute(
            "INSERT INTO fama_events (client_id, version, event_id, episode_id, kind,"
            " occurred_on, recorded_at, stored_at, payload) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                "other",
                1,
                "other-e1",
                "ep",
                CANARY,
                "2026-01-05",
                "2026-01-05",
                "2026-01-05",
                json.dumps(payload),
            ),
        )
    for extra in ((), ("--json",)):
        code, out, err = run("replay", "--store", str(db), *extra)
        _clean(code, out, err)
        # the hash chain (issue 14) may refuse the store before the row is decoded
        assert code in (ExitCode.PARTIAL, ExitCode.FAILED)
    # the decoding replay does for each stored row, on its own
    import dataclasses

    from fama_adapters.store import open_store
    from fama_core.errors import InvalidRecord

    store = open_store(str(tmp_path / "other.db"), create=True)
    assert run("record", str(valid / "events.jsonl"), "--store", str(tmp_path / "other.db"))[0] == 0
    stored = store.read("fz-c1")[0]
    store.close()
    bad = dataclasses.replace(stored, payload=json.dumps(payload))
    with pytest.raises(InvalidRecord) as caught:
        bad.event()
    assert CANARY not in str(caught.value) and "kind" in str(caught.value)


def test_record_accepts_a_utf8_byte_order_mark(valid, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (valid / "events.jsonl").read_bytes())
    code, out, err = run("record", str(path), "--store", "memory://", "--json")
    assert code == ExitCode.OK, out + err
    assert json.loads(out)["refused"] == []


def test_meetings_match_exits_partial_when_entries_of_the_list_were_refused(valid, tmp_path):
    feed = json.loads((valid / "feed.json").read_text("utf-8"))
    for entry in feed:
        entry["day"] = 9  # every entry refused
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(feed), "utf-8")
    code, out, err = run(
        "meetings", "match", str(path), "--request", str(valid / "request.json"), "--json"
    )
    _clean(code, out, err)
    assert code == ExitCode.PARTIAL
    assert json.loads(out)["refused"] == len(feed)
    code, _, _ = run(
        "meetings", "match", str(valid / "feed.json"), "--request", str(valid / "request.json")
    )
    assert code == ExitCode.OK


@pytest.mark.parametrize(
    "change",
    [{"file": "feed\x00.json"}, {"format": CANARY}, {"file": "x" * 5000}],
    ids=["a NUL in the file name", "an unknown format", "a 5,000-character file name"],
)
def test_a_bad_source_of_meetings_refresh_is_reported_not_a_crash_nor_echoed(
    valid, tmp_path, change
):
    sources = json.loads((valid / "sources.json").read_text("utf-8"))
    sources[0].update(change)
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(sources), "utf-8")
    code, out, err = run("meetings", "refresh", str(path), "--directory", str(tmp_path / "d.json"))
    _clean(code, out, err)


@pytest.mark.parametrize("field", ["issued_at", "role"])
def test_a_token_file_value_is_never_printed_by_tokens_list(valid, tmp_path, field):
    data = json.loads((valid / "tokens.json").read_text("utf-8"))
    data["tokens"][0][field] = CANARY
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(data), "utf-8")
    code, out, err = run("tokens", "list", "--file", str(path))
    _clean(code, out, err)
    assert code == ExitCode.FAILED


def test_ndtms_merge_of_rows_shorter_than_their_header_is_not_a_crash(valid, tmp_path):
    lines = (valid / "extract.csv").read_text("utf-8").splitlines()
    # the header said twice (found by the fuzz harness): each name's last column is past the rows
    path = tmp_path / "extract.csv"
    path.write_text("\n".join([lines[0] + "," + lines[0], *lines[1:]]) + "\n", "utf-8")
    code, out, err = run(
        "ndtms",
        "merge",
        str(path),
        "--events",
        str(valid / "events.jsonl"),
        "--out",
        str(tmp_path / "m.csv"),
        "--as-of",
        "2026-06-01",
    )
    _clean(code, out, err)
