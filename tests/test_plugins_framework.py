"""The plugin framework: loading, blocking, clashes, `fama plugins`, and a real third-party
distribution installed and loaded through its entry point."""

import io
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from fama_adapters.cli import Command, main
from fama_adapters.hookspecs import hookimpl
from fama_adapters.plugins import BUILTIN_PLUGINS, PluginHost
from fama_adapters.testing import FakeRecordSystem, fold, plugin_host, registered
from fama_core.errors import PluginError

ROOT = Path(__file__).resolve().parents[1]


class RecordSystemPlugin:
    def __init__(self, name):
        self.system_name = name

    @hookimpl
    def fama_register_record_systems(self, register):
        register(FakeRecordSystem(name=self.system_name))


def test_two_plugins_claiming_one_record_system_name_is_a_clear_error():
    host = plugin_host(builtins=BUILTIN_PLUGINS)
    with registered(host, RecordSystemPlugin("hl7v2"), name="impostor"):
        with pytest.raises(PluginError) as caught:
            host.record_systems()
    message = str(caught.value)
    assert "fama_adapters.hl7v2.plugin" in message and "impostor" in message
    assert "'hl7v2'" in message and "FAMA_BLOCK_PLUGINS" in message


def test_two_plugins_claiming_one_command_name_is_a_clear_error():
    class Clash:
        @hookimpl
        def fama_register_commands(self, register):
            register(Command("demo", "another demo", lambda args, ctx: 0))

    host = plugin_host(builtins=BUILTIN_PLUGINS)
    with registered(host, Clash(), name="clash"), pytest.raises(PluginError, match="demo"):
        host.commands()


def test_registered_unregisters_even_when_the_block_fails():
    host = plugin_host()
    with pytest.raises(RuntimeError), registered(host, RecordSystemPlugin("x"), name="p"):
        raise RuntimeError
    assert host.plugins() == [] and host.record_systems() == {}


def test_a_misspelt_hook_is_refused_when_registered():
    class Typo:
        @hookimpl
        def fama_register_record_system(self, register):  # missing "s"
            pass

    host = plugin_host()
    with pytest.raises(PluginError, match="does not define"):
        host.register(Typo(), name="typo")
    assert host.plugins() == []


def test_the_same_plugin_name_twice_is_refused():
    host = plugin_host()
    host.register(RecordSystemPlugin("a"), name="p")
    with pytest.raises(PluginError, match="two plugins are named p"):
        host.register(RecordSystemPlugin("b"), name="p")


def test_builtins_are_declared_as_entry_points_too():
    declared = {ep.value for ep in entry_points(group="fama")}
    assert set(BUILTIN_PLUGINS) <= declared


def test_fama_plugins_shows_name_source_and_registrations():
    out = io.StringIO()
    assert main(["plugins", "--json"], stdout=out, host=PluginHost(entry_points=False)) == 0
    rows = {row["name"]: row for row in json.loads(out.getvalue())}
    hl7 = rows["fama_adapters.hl7v2.plugin"]
    assert hl7["source"] == "builtin"
    assert "record system hl7v2" in hl7["registers"] and "demo step hl7v2" in hl7["registers"]


def test_fake_record_system_keeps_no_event_content():
    events = _journey()[:1]
    system = FakeRecordSystem()
    system.outbound(fold(events), events)
    assert system.sent == [(events[0].client_id, 1)]


# ------------------------------------------------ a real third-party distribution


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """pip-install examples/third_party_plugin into a private folder put on sys.path.

    Nothing is installed into the venv itself, so other tests never see the plugin;
    the folder leaves sys.path after the module's tests.
    """
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT / "examples" / "third_party_plugin")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    sys.path.insert(0, str(target))
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        for name in [m for m in sys.modules if m.startswith("fama_example_csv")]:
            del sys.modules[name]


def test_third_party_plugin_loads_through_its_entry_point(installed_example):
    host = PluginHost()
    info = {i.name: i.source for i in host.plugins()}
    assert info["example-csv"] == "entry point fama-example-csv 0.1.0"
    state = fold(_journey())
    (doc,) = host.record_systems()["example-csv"].outbound(state, [])
    assert doc.media_type == "text/csv" and doc.content.startswith(b"client_id,goal_id")


def test_blocked_third_party_plugin_is_not_loaded(installed_example, monkeypatch):
    monkeypatch.setenv("FAMA_BLOCK_PLUGINS", "example-csv")
    assert "example-csv" not in {i.name for i in PluginHost().plugins()}
    monkeypatch.setenv("FAMA_BLOCK_PLUGINS", "*")
    assert "example-csv" not in {i.name for i in PluginHost().plugins()}


def test_fama_plugins_lists_the_third_party_plugin_and_where_it_comes_from(installed_example):
    out = io.StringIO()
    assert main(["plugins"], stdout=out) == 0
    line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("example-csv"))
    assert "entry point fama-example-csv 0.1.0" in line and "record system example-csv" in line


def _journey():
    from fama_adapters.cli.core_commands import load_journeys

    return load_journeys(ROOT / "examples" / "journeys")[0][2]


# Review findings: the host called implementations directly, bypassing pluggy.


class _NoArguments:
    """An implementation that names none of the hook's arguments (allowed by pluggy)."""

    @hookimpl
    def fama_register_commands(self):
        return None


class _Crashes:
    @hookimpl
    def fama_register_commands(self, register):
        raise RuntimeError("boom")


class _Nameless:
    @hookimpl
    def fama_register_commands(self, register):
        register(object())


class _Wrapper:
    def __init__(self):
        self.wrapped = False

    @hookimpl(wrapper=True)
    def fama_register_commands(self, register):
        self.wrapped = True
        return (yield)


def test_an_implementation_naming_no_arguments_is_called_without_them():
    host = PluginHost(entry_points=False)
    host.register(_NoArguments(), name="no-args")
    assert "demo" in host.commands()


def test_a_plugin_failing_inside_a_hook_is_named_in_a_plugin_error():
    host = PluginHost(entry_points=False)
    host.register(_Crashes(), name="crashes")
    with pytest.raises(PluginError, match="plugin crashes failed in fama_register_commands"):
        host.commands()


def test_registering_something_without_a_name_is_a_plugin_error():
    host = PluginHost(entry_points=False)
    host.register(_Nameless(), name="nameless")
    with pytest.raises(PluginError, match="plugin nameless registered a command without a name"):
        host.commands()


def test_wrapper_implementations_run():
    host = PluginHost(entry_points=False)
    wrapper = _Wrapper()
    host.register(wrapper, name="wrapper")
    assert "demo" in host.commands() and wrapper.wrapped


def test_the_same_object_under_two_names_and_unknown_unregister_are_plugin_errors():
    host = PluginHost(entry_points=False)
    plugin = _NoArguments()
    host.register(plugin, name="one")
    with pytest.raises(PluginError, match="already registered"):
        host.register(plugin, name="two")
    with pytest.raises(PluginError, match="no plugin is registered as nope"):
        host.unregister("nope")
