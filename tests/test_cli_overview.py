"""``fama --help`` lists every command without importing the built-in plugins."""

from __future__ import annotations

import ast
import subprocess
import sys

from fama_adapters.plugins import BUILTIN_COMMANDS, BUILTIN_PLUGINS, PluginHost


def test_the_help_index_of_built_in_commands_matches_what_the_plugins_register():
    host = PluginHost(entry_points=False)
    registered = {}
    for name, command in host.commands().items():
        owner = host.owner("fama_register_commands", name)
        assert owner is not None
        registered[name] = (owner.name, command.help)
    assert registered == dict(BUILTIN_COMMANDS), (
        "a built-in command was added, removed or reworded: update BUILTIN_COMMANDS in "
        "src/fama_adapters/plugins.py to match"
    )


def test_fama_help_lists_every_command_and_imports_no_built_in_plugin():
    code = (
        "import sys\n"
        "from fama_adapters.cli import main\n"
        "code = main(['--help'])\n"
        f"loaded = [m for m in {list(BUILTIN_PLUGINS)!r} if m in sys.modules]\n"
        "print('LOADED', loaded, 'CODE', int(code))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("LOADED [] CODE 0")
    for name in BUILTIN_COMMANDS:
        assert f"    {name} " in done.stdout or f"    {name}\n" in done.stdout


def test_a_command_still_gets_its_own_arguments_in_its_help():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from fama_adapters.cli import main; "
         "sys.exit(main(['serve', '--help']))"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0
    assert "--store" in done.stdout


# ----------------------------------------------------------------------- a command's own plugin


def test_the_hook_index_of_built_in_plugins_matches_their_modules():
    import importlib

    from fama_adapters.plugins import BUILTIN_HOOKS

    assert set(BUILTIN_HOOKS) == set(BUILTIN_PLUGINS)
    for path in BUILTIN_PLUGINS:
        module = importlib.import_module(path)
        hooks = {name for name in dir(module) if hasattr(getattr(module, name), "fama_impl")}
        assert hooks == BUILTIN_HOOKS[path], f"update BUILTIN_HOOKS[{path!r}]"


def _loaded_after(argv: list[str]) -> tuple[list[str], str]:
    code = (
        "import sys\n"
        "from fama_adapters.cli import main\n"
        f"code = main({argv!r})\n"
        f"loaded = [m for m in {list(BUILTIN_PLUGINS)!r} if m in sys.modules]\n"
        "print('LOADED', loaded, 'CODE', int(code))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    tail = done.stdout.rstrip().rsplit("LOADED ", 1)[1]
    loaded, _, exit_code = tail.rpartition(" CODE ")
    return ast.literal_eval(loaded), exit_code


def test_running_a_command_imports_only_the_plugin_that_owns_it():
    loaded, code = _loaded_after(["fhir", "questionnaire"])
    assert code == "0"
    assert loaded == ["fama_adapters.fhir.plugin"]


def test_a_hook_a_command_calls_imports_the_plugins_that_implement_it():
    """`fama plugins` asks every hook: every built-in is imported and listed, in order."""
    loaded, code = _loaded_after(["plugins"])
    assert code == "0"
    assert loaded == list(BUILTIN_PLUGINS)


def test_a_host_for_one_command_answers_every_accessor_as_a_full_host():
    full = PluginHost(entry_points=False)
    for name in ("fhir", "meetings", "demo", "verify"):
        lazy = PluginHost.for_command(name)
        assert lazy is not None
        assert set(lazy.loaded_commands()) <= set(full.commands())
        assert name in lazy.loaded_commands()
        assert set(lazy.record_systems()) == set(full.record_systems())
        assert set(lazy.event_stores()) == set(full.event_stores())
        assert set(lazy.submission_formats()) == set(full.submission_formats())
        assert set(lazy.meeting_sources()) == set(full.meeting_sources())
        assert [s.name for s in lazy.demo_steps()] == [s.name for s in full.demo_steps()]
        assert set(lazy.commands()) == set(full.commands())
        assert lazy.registrations() == full.registrations()
        assert [p.name for p in lazy.plugins()] == [p.name for p in full.plugins()]


def test_an_unknown_command_is_not_a_built_in_command():
    assert PluginHost.for_command("no-such-command") is None
