"""The `fama` command's core subcommands."""

from __future__ import annotations

import io
import json
from pathlib import Path

from fama_adapters.cli import main
from fama_adapters.hookspecs import hookimpl
from fama_adapters.plugins import PluginHost

ROOT = Path(__file__).parent.parent


def run(*argv: str, host: PluginHost | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, host=host)
    return code, out.getvalue(), err.getvalue()


def test_demo_prints_each_sample_journey_and_its_final_state(tmp_path):
    code, out, _ = run("demo", "--examples", str(ROOT / "examples"), "--out", str(tmp_path))
    assert code == 0
    assert "demo-c002  declined after session 1" in out
    assert "opened → S1:introduced → declined" in out


def test_schema_prints_the_event_schema():
    code, out, _ = run("schema")
    assert code == 0 and json.loads(out)["$id"].endswith("event.schema.json")


def test_unknown_schema_is_a_clear_error():
    code, _, err = run("schema", "nope.schema.json")
    assert code == 3 and "no schema nope.schema.json" in err


def test_bad_arguments_exit_2():
    assert run("demo", "--nope")[0] == 2


def test_plugins_lists_the_builtins_as_json():
    code, out, _ = run("plugins", "--json")
    assert code == 0
    rows = [{"name": r["name"], "source": r["source"]} for r in json.loads(out)]
    assert {"name": "fama_adapters.cli.core_commands", "source": "builtin"} in rows


class _Clash:
    @hookimpl
    def fama_register_commands(self, register):
        from fama_adapters.cli import Command

        register(Command("demo", "a second demo", lambda args, ctx: 0))


def test_two_plugins_claiming_one_command_name_is_a_clear_error():
    host = PluginHost(entry_points=False)
    host.register(_Clash(), name="clash")
    code, _, err = run("demo", host=host)
    assert code == 3 and "two plugins register the command 'demo'" in err
