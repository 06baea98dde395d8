"""The one exit-code table, and the last-resort handler of the `fama` entry point."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fama_adapters.cli import Command, ExitCode, main
from fama_adapters.hookspecs import hookimpl
from fama_adapters.plugins import PluginHost
from fama_core.errors import InputUnreadable, StoreError

ROOT = Path(__file__).parent.parent
CANARY = "CANARY-7f3e-secret-value"


def run(*argv: str, host: PluginHost | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, host=host)
    return code, out.getvalue(), err.getvalue()


class _Raises:
    """A throwaway plugin whose command raises what the test asks for."""

    def __init__(self, exc: BaseException | None = None, code: int = 0) -> None:
        self.exc = exc
        self.code = code

    @hookimpl
    def fama_register_commands(self, register):
        def boom(args, ctx):
            if self.exc is not None:
                raise self.exc
            return self.code

        register(Command("boom", "raises", boom))


def host_raising(exc: BaseException | None = None, code: int = 0) -> PluginHost:
    host = PluginHost(entry_points=False)
    host.register(_Raises(exc, code), name="raises")
    return host


def test_the_codes_are_distinct_and_keep_the_old_meanings():
    assert [c.value for c in ExitCode] == [0, 1, 2, 3, 70, 130]
    assert len({c.value for c in ExitCode}) == len(ExitCode)


def test_docs_cli_md_has_the_one_table_and_it_matches_the_code():
    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", section, flags=re.M)
    assert [(int(n), name) for n, name in rows] == [(c.value, c.name) for c in ExitCode]


@pytest.mark.parametrize(
    "exc",
    [
        ValueError(CANARY),
        KeyError(CANARY),
        RecursionError(CANARY),
        MemoryError(CANARY),
        UnicodeDecodeError("utf-8", CANARY.encode(), 0, 1, CANARY),
        AttributeError(CANARY),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_unexpected_error_names_command_and_class_never_the_value(exc, monkeypatch):
    monkeypatch.delenv("FAMA_DEBUG", raising=False)
    code, out, err = run("boom", host=host_raising(exc))
    assert code == ExitCode.INTERNAL == 70
    assert f"fama boom: internal error ({type(exc).__name__})" in err
    assert "report it" in err and "FAMA_DEBUG=1" in err
    assert CANARY not in err + out
    assert "Traceback" not in err


def test_fama_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("FAMA_DEBUG", "1")
    code, _, err = run("boom", host=host_raising(ValueError("x")))
    assert code == ExitCode.INTERNAL
    assert "Traceback (most recent call last)" in err


def test_ctrl_c_is_interrupted_not_a_crash():
    code, _, err = run("boom", host=host_raising(KeyboardInterrupt()))
    assert code == ExitCode.INTERRUPTED == 130
    assert "Traceback" not in err


def test_a_command_returning_a_code_outside_the_table_is_an_internal_error():
    code, _, err = run("boom", host=host_raising(code=42))
    assert code == ExitCode.INTERNAL and "not in the table" in err


def test_a_fama_error_keeps_its_message_and_is_nothing_done():
    code, _, err = run("boom", host=host_raising(StoreError("no such store")))
    assert code == ExitCode.FAILED and "fama boom: no such store" in err


def test_input_whose_content_cannot_be_used_is_nothing_done():
    exc = InputUnreadable(source="events.jsonl", reason="JSON nested more than 64 deep")
    code, _, err = run("boom", host=host_raising(exc))
    assert code == ExitCode.FAILED and "events.jsonl: JSON nested more than 64 deep" in err


def test_a_missing_path_names_the_argument_and_the_path_given(tmp_path, monkeypatch):
    """Which of several files is missing; as typed, relative or not (decision O4)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.hl7").write_text("")
    code, _, err = run("hl7", "read", "a.hl7", "folder/b.hl7", "c.hl7")
    assert code == ExitCode.USAGE
    assert err == (
        "fama hl7 read: cannot use FILES 'folder/b.hl7': No such file or directory "
        "(FileNotFoundError)\n"
    )


def test_a_path_that_is_no_argument_is_not_shown(tmp_path):
    """A path the command met elsewhere (inside an input, say) did not come from the user."""
    missing = FileNotFoundError(2, "No such file or directory", f"/elsewhere/{CANARY}")
    code, _, err = run("boom", host=host_raising(missing))
    assert code == ExitCode.USAGE
    assert err == (
        "fama boom: cannot use a file or folder: No such file or directory (FileNotFoundError)\n"
    )


def test_an_os_error_that_is_not_about_a_path_is_nothing_done():
    code, _, err = run("boom", host=host_raising(OSError(28, "No space left on device")))
    assert code == ExitCode.FAILED and "No space left on device" in err


def test_every_builtin_command_answers_help_with_ok():
    host = PluginHost()
    for name in host.commands():
        assert run(name, "--help", host=host)[0] == ExitCode.OK, name


def test_the_installed_entry_point_exits_with_the_table_code_and_no_traceback(tmp_path):
    fama = Path(sys.executable).with_name("fama")
    env = {k: v for k, v in os.environ.items() if k != "FAMA_DEBUG"}
    done = subprocess.run(
        [
            str(fama),
            "pack",
            "--events",
            str(tmp_path / "missing.jsonl"),
            "--directory",
            "d.json",
            "--request",
            "r.json",
            "--out",
            "o.html",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("fama pack:")
