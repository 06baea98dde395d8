"""A broken third-party plugin is named, with its error, and every other plugin keeps working.

The plugins here are real distributions on ``sys.path`` (a ``.dist-info`` folder with an
``entry_points.txt`` in the ``fama`` group, beside the module), loaded by a real ``fama``
process: one fails to import, one implements a misspelt hook, one raises inside a registration
hook, one registers a command that crashes when run, one is healthy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGINS = {
    "broken_import": (
        "broken-import",
        'raise ImportError("needs a module that is not installed")\n',
    ),
    "misspelt_hook": (
        "misspelt-hook",
        """
        from fama_adapters.hookspecs import hookimpl

        @hookimpl
        def fama_register_comands(register):
            pass
        """,
    ),
    "crashing_hook": (
        "crashing-hook",
        """
        from fama_adapters.cli import Command
        from fama_adapters.hookspecs import hookimpl

        @hookimpl
        def fama_register_commands(register):
            register(Command("half-registered", "never seen", lambda args, ctx: 0))
            raise RuntimeError("the plugin's own bug")
        """,
    ),
    "failing_command": (
        "failing-command",
        """
        from fama_adapters.cli import Command
        from fama_adapters.hookspecs import hookimpl

        def _run(args, ctx):
            raise ValueError("SECRET-CLIENT-VALUE")

        @hookimpl
        def fama_register_commands(register):
            register(Command("explode", "a plugin command that fails", _run))
        """,
    ),
    "healthy_plugin": (
        "healthy",
        """
        from fama_adapters.cli import Command
        from fama_adapters.hookspecs import hookimpl

        def _run(args, ctx):
            ctx.emit({"ok": True}, "healthy plugin ran")
            return 0

        @hookimpl
        def fama_register_commands(register):
            register(Command("healthy", "a plugin command that works", _run))
        """,
    ),
}
BROKEN = ("broken-import", "misspelt-hook", "crashing-hook")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plugins-site")
    for module, (entry, source) in PLUGINS.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source), "utf-8")
        dist = folder / f"fama_test_{module}-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: fama-test-{module.replace('_', '-')}\nVersion: 0.1\n"
        )
        (dist / "entry_points.txt").write_text(f"[fama]\n{entry} = {module}\n")
    return folder


def _fama(site: Path, *args: str, block: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "FAMA_BLOCK_PLUGINS": block}
    env.pop("FAMA_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from fama_adapters.cli import main; sys.exit(main())"]
        + list(args),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_help_works_and_names_each_broken_plugin_with_its_error(site):
    done = _fama(site, "--help")
    assert done.returncode == 0, done.stderr
    assert "healthy" in done.stdout and "schema" in done.stdout  # the others all work
    assert "half-registered" not in done.stdout  # a failed hook's registrations are dropped
    lines = done.stderr.splitlines()
    for name in BROKEN:
        (line,) = [ln for ln in lines if f"plugin {name} " in ln]
        assert f"FAMA_BLOCK_PLUGINS={name}" in line
    assert "ImportError: needs a module that is not installed" in done.stderr
    assert "does not define" in done.stderr  # the misspelt hook
    assert "RuntimeError: the plugin's own bug" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_healthy_plugin_command_runs_beside_broken_ones(site):
    done = _fama(site, "healthy")
    assert done.returncode == 0
    assert done.stdout.strip() == "healthy plugin ran"


def test_blocking_the_broken_plugins_silences_them(site):
    done = _fama(site, "--help", block=",".join(BROKEN))
    assert done.returncode == 0
    assert done.stderr == ""


def test_a_plugin_command_that_crashes_is_named_and_never_shows_its_values(site):
    done = _fama(site, "explode", block=",".join(BROKEN))
    assert done.returncode == 70
    assert "plugin failing-command (entry point fama-test-failing-command 0.1)" in done.stderr
    assert "ValueError" in done.stderr
    assert "FAMA_BLOCK_PLUGINS=failing-command" in done.stderr
    assert "SECRET-CLIENT-VALUE" not in done.stderr and "Traceback" not in done.stderr


def test_fama_plugins_lists_the_plugins_set_aside(site):
    done = _fama(site, "plugins", "--json", block="")
    assert done.returncode == 0, done.stderr
    import json

    listed = {p["name"]: p for p in json.loads(done.stdout)}
    assert listed["broken-import"]["error"].startswith("ImportError")
    assert "error" not in listed["healthy"]
