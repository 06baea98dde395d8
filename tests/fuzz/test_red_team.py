"""Red team, 2026-11-30: hostile input that a command printed or a reader choked on.

One test per finding; each failed on main before its fix. What was tried and held
is listed in ``docs/hostile-input.md``, with the test that shows it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fama_adapters.cli import ExitCode

from .corpus import build, run


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("red"))


def test_revoking_by_a_pasted_token_never_prints_the_token(valid: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_bytes((valid / "tokens.json").read_bytes())
    secret = "fama_" + "S3cretBearerValue" * 2  # the token itself, given where its id goes
    code, out, err = run("tokens", "revoke", secret, "--file", str(tokens))
    assert code == ExitCode.FAILED
    assert "Traceback" not in err
    assert "S3cretBearerValue" not in out + err
    assert "fama tokens list" in err


def test_revoking_an_unknown_id_still_names_the_id(valid: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_bytes((valid / "tokens.json").read_bytes())
    code, _out, err = run("tokens", "revoke", "t-0badc0de", "--file", str(tokens))
    assert code == ExitCode.FAILED
    assert "t-0badc0de" in err


TERMINAL_ATTACK = "Hall \x1b]0;PWNED\x07\x1b[2J\x9b31m \u202eesrever"
"""A meeting name from a feed that retitles the window, clears the screen, and reads backwards."""


def test_a_meeting_name_from_a_feed_cannot_drive_the_terminal(valid: Path, tmp_path: Path) -> None:
    feed = json.loads((valid / "feed.json").read_text("utf-8"))
    for meeting in feed:
        meeting["name"] = TERMINAL_ATTACK
    (tmp_path / "feed.json").write_text(json.dumps(feed), "utf-8")
    directory = tmp_path / "directory.json"
    code, _out, err = run(
        "meetings",
        "import",
        str(tmp_path / "feed.json"),
        "--organisation",
        "aa",
        "--timezone",
        "Europe/London",
        "--out",
        str(directory),
    )
    assert code in (ExitCode.OK, ExitCode.PARTIAL), err
    request = str(valid / "request.json")
    code, out, err = run(
        "meetings", "match", str(directory), "--request", request, "--show-excluded"
    )
    assert code in (ExitCode.OK, ExitCode.PARTIAL), err
    assert "Hall" in out  # the name is shown …
    for control in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert control not in out + err  # … its controls as escapes, never raw
    assert "\\x1b]0;PWNED" in out
    code, out, _err = run("meetings", "match", str(directory), "--request", request, "--json")
    assert "\x1b" not in out and TERMINAL_ATTACK in [m["name"] for m in json.loads(out)["chosen"]]


def test_printable_keeps_lines_tabs_and_letters_of_any_script() -> None:
    from fama_adapters.cli import printable

    text = "Église\tcafé\n日本語 · ‘quoted’ — ok\n"
    assert printable(text) == text
    assert printable("a\rb\x00c\u2066d") == "a\\rb\\x00c\\u2066d"
    assert printable("name\ud800").encode("utf-8")  # a lone surrogate could not be written


@pytest.mark.parametrize("key", ["file", "name", "format", "organisation", "timezone"])
def test_a_lone_surrogate_in_a_sources_file_refuses_the_file_not_a_crash(
    valid: Path, tmp_path: Path, key: str
) -> None:
    # json.loads turns the escape "\ud800" into a str no file system or encoder takes: opening
    # the source named by such a "file" was an internal error (exit 70, UnicodeEncodeError).
    sources = json.loads((valid / "sources.json").read_text("utf-8"))
    for entry in sources:
        entry[key] = entry.get(key, "Europe/London") + "\ud800"
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(sources), "utf-8")  # ensure_ascii: the escape, valid UTF-8
    for source in ("feed.json", "bmlt.json", "list.csv"):
        (tmp_path / source).write_bytes((valid / source).read_bytes())
    code, out, err = run("meetings", "refresh", str(path), "--directory", str(tmp_path / "d.json"))
    assert code in (ExitCode.PARTIAL, ExitCode.FAILED), err
    assert "internal error" not in err and "Traceback" not in err


# ------------------------------------------------- one canary through every command

LOG_CANARY = "QZLOGCANARY"


def _plant_everywhere(target_kind: str, text: str) -> bytes:
    """``text`` with the canary added to every value fama must never print (all at once)."""
    import csv
    import io

    from .test_fuzz_cli import SHOWN_CSV_COLUMNS, SHOWN_KEYS

    def walk(value: object, key: str | None = None) -> object:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key not in SHOWN_KEYS:
            return value + LOG_CANARY
        return value

    if target_kind == "jsonl":
        lines = [json.dumps(walk(json.loads(line))) for line in text.splitlines() if line]
        return ("\n".join(lines) + "\n").encode()
    if target_kind == "json":
        return json.dumps(walk(json.loads(text))).encode()
    if target_kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        shown = [h in SHOWN_CSV_COLUMNS for h in rows[0]]
        for row in rows[1:]:
            row[:] = [c if s else c + LOG_CANARY for c, s in zip(row, shown, strict=False)]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().encode()
    segments = [s.split("|") for s in text.replace("\n", "\r").split("\r") if s]
    # Ids and codes are shown by design: PID-3, PV1-19/36/39, MSH-4 and MSH-10 (the control
    # id, shown when it has an id's shape); MSH's index n is MSH-(n+1).
    printed = {("PID", 3), ("PV1", 19), ("PV1", 36), ("PV1", 39), ("MSH", 9)}
    for seg in segments:
        for f in range(1, len(seg)):
            shown = (seg[0], f) in printed
            if not shown and not (seg[0] == "MSH" and f in (1, 2, 3)) and seg[f]:
                seg[f] += LOG_CANARY
    return "\r".join("|".join(seg) for seg in segments).encode()


def _targets() -> list[object]:
    from .corpus import TARGETS

    return list(TARGETS)


@pytest.mark.parametrize("target", _targets(), ids=lambda t: t.name)
def test_a_canary_in_every_field_reaches_no_output_and_no_log_line(
    valid: Path, tmp_path: Path, target, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    for name in ("fama", "fama.fhir", "fama.http", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    text = (valid / target.fuzzed).read_text("utf-8")
    path = tmp_path / Path(target.fuzzed).name
    path.write_bytes(_plant_everywhere(target.kind, text))
    argv = [
        a.replace(str(valid / "out"), str(tmp_path / "out")) for a in target.command(valid, path)
    ]
    (tmp_path / "out").mkdir(exist_ok=True)
    code, out, err = run(*argv)
    assert code in (0, 1, 2, 3), err[-500:]
    assert "Traceback" not in err
    assert LOG_CANARY not in out, out[-1000:]
    assert LOG_CANARY not in err, err[-1000:]
    logged = [r.getMessage() for r in caplog.records]
    assert not [line for line in logged if LOG_CANARY in line]


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "zone.tab", "tzdata.zi", "Europe/../Europe/London"]
)
def test_a_time_zone_name_that_walks_the_file_system_is_refused(name: str) -> None:
    # Held (no finding): zoneinfo refuses paths, and fama turns its other errors into one.
    from fama_core.directory import zone

    with pytest.raises(ValueError, match="not a tz database time zone name"):
        zone(name)


SUPERSCRIPT_TWO = "\u00b2"
"""'²': a digit to ``str.isdigit()``, not to ``int()``; checked with the first, read with the
second, it raised ValueError (exit 70 for the whole import)."""


def test_a_meeting_guide_day_of_superscript_two_refuses_that_meeting_only(
    valid: Path, tmp_path: Path
) -> None:
    feed = json.loads((valid / "feed.json").read_text("utf-8"))
    feed[0]["day"] = SUPERSCRIPT_TWO
    (tmp_path / "feed.json").write_text(json.dumps(feed), "utf-8")
    code, out, err = run(
        "meetings", "import", str(tmp_path / "feed.json"), "--out", str(tmp_path / "d.json")
    )
    assert code == ExitCode.PARTIAL, err
    assert f"{len(feed) - 1} of {len(feed)} meetings imported" in out


def test_a_bmlt_weekday_of_superscript_two_refuses_that_meeting_only(
    valid: Path, tmp_path: Path
) -> None:
    answer = json.loads((valid / "bmlt.json").read_text("utf-8"))
    answer["meetings"][0]["weekday_tinyint"] = SUPERSCRIPT_TWO
    (tmp_path / "bmlt.json").write_text(json.dumps(answer), "utf-8")
    code, out, err = run(
        "meetings",
        "import",
        str(tmp_path / "bmlt.json"),
        "--format",
        "bmlt",
        "--out",
        str(tmp_path / "d.json"),
    )
    assert code == ExitCode.PARTIAL, err
    assert "internal error" not in err


def test_a_note_cannot_drive_the_terminal_through_subject_export(tmp_path: Path) -> None:
    # The text export went to stdout as written, past CliContext.emit's printable().
    from fama_core.builders import JourneyBuilder
    from fama_core.events import event_to_json

    b = JourneyBuilder("red-sa", keyworker_id="kw-1")
    b.open().session1()
    lines = [json.loads(event_to_json(e)) for e in b.events]
    lines[1]["steps"][0]["note"] = "seen \x1b]0;PWNED\x07\x1b[2J note"
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(x) + "\n" for x in lines), "utf-8")
    store = str(tmp_path / "fama.db")
    assert run("init", "--store", store)[0] == ExitCode.OK
    assert run("record", str(events), "--store", store)[0] == ExitCode.OK
    code, out, err = run("subject-export", "red-sa", "--store", store)
    assert code == ExitCode.OK, err
    assert "seen" in out and "\x1b" not in out and "\x07" not in out
    code, out, _err = run("subject-export", "red-sa", "--store", store, "--json")
    assert "seen \\u001b]0;PWNED\\u0007" in out  # JSON keeps the note exactly, escaped


def test_a_feed_redirecting_to_a_url_httpx_cannot_parse_is_a_feed_error(tmp_path: Path) -> None:
    from fama_adapters.net_testing import LoopbackHttpServer, Redirect

    with LoopbackHttpServer({"/feed": Redirect("javascript:1")}) as server:
        code, _out, err = run(
            "meetings", "import", server.url + "/feed", "--out", str(tmp_path / "d.json")
        )
    assert code == ExitCode.FAILED, err
    assert "internal error" not in err and "redirect" in err
