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
