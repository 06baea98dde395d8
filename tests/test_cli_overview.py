"""``fama --help`` lists every command without importing the built-in plugins."""

from __future__ import annotations

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
