"""`fama meetings import|match|sources`, `fama pack`, the meeting-source hook and the demo."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from fama_adapters.cli import main
from fama_adapters.hookspecs import hookimpl
from fama_adapters.meetings import ImportReport
from fama_adapters.plugins import PluginHost
from fama_core.errors import PluginError

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "meetings"


def run(*argv: str, host: PluginHost | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, host=host)
    return code, out.getvalue(), err.getvalue()


def request_file(tmp_path: Path, **prefs) -> Path:
    path = tmp_path / "request.json"
    path.write_text(
        json.dumps(
            {
                "preferences": prefs,
                "availability": {
                    "timezone": "Europe/London",
                    "week_starts": "2026-03-02",
                    "windows": [{"day": d, "start": "17:00", "end": "23:00"} for d in range(7)],
                },
            }
        ),
        "utf-8",
    )
    return path


def test_import_reports_counts_and_each_refused_entry_and_exits_1(tmp_path):
    out_file = tmp_path / "dir.json"
    code, out, _ = run(
        "meetings",
        "import",
        str(EXAMPLES / "ca-northbridge.json"),
        "--organisation",
        "ca",
        "--out",
        str(out_file),
        "--today",
        "2026-03-02",
    )
    assert code == 1
    assert "2 of 3 meetings imported, 1 refused" in out
    assert "refused meetings[2]: invalid meeting: day" in out
    assert json.loads(out_file.read_text())["format"] == "fama-meetings/1"


def test_import_as_json_lists_problems_and_stale_meetings():
    code, out, _ = run(
        "meetings",
        "import",
        str(EXAMPLES / "aa-northbridge.json"),
        "--json",
        "--today",
        "2026-03-02",
    )
    payload = json.loads(out)
    assert code == 0 and payload["imported"] == 12 and payload["refused"] == 0
    assert payload["stale_meetings"] == ["sunday-morning-reflections"]


def test_import_reads_a_csv_list_by_its_extension():
    code, out, _ = run("meetings", "import", str(EXAMPLES / "local-list.csv"), "--json")
    payload = json.loads(out)
    assert code == 1 and payload["imported"] == 3
    assert payload["problems"][0]["record"] == "row 5"


def test_an_unreadable_feed_is_a_clear_failure(tmp_path):
    bad = tmp_path / "feed.json"
    bad.write_text("invalid text[", "utf-8")
    code, _, err = run("meetings", "import", str(bad))
    assert code == 3 and "not valid JSON (line 1, column 1)" in err


def test_match_ranks_meetings_with_reasons(tmp_path):
    directory = tmp_path / "dir.json"
    run("meetings", "import", str(EXAMPLES / "aa-northbridge.json"), "--out", str(directory))
    code, out, _ = run(
        "meetings",
        "match",
        str(directory),
        "--request",
        str(request_file(tmp_path)),
        "--show-excluded",
    )
    assert code == 0
    assert out.splitlines()[2].split()[:3] == ["1", "Tuesday", "Newcomers"]
    assert "Saturday Night Owls" in out  # ends 00:30, after the 23:00 window: excluded
    assert "meets when the client is not free" in out


def test_match_as_json_gives_reason_codes(tmp_path):
    code, out, _ = run(
        "meetings",
        "match",
        str(EXAMPLES / "aa-northbridge.json"),
        "--request",
        str(request_file(tmp_path, women_only=True)),
        "--json",
    )
    payload = json.loads(out)
    assert [c["meeting_id"] for c in payload["chosen"]] == ["wednesday-womens-group"]
    owls = next(x for x in payload["excluded"] if x["meeting_id"] == "saturday-night-owls")
    assert {r["code"] for r in owls["reasons"]} == {"not_women_only"}


def test_a_bad_request_names_the_field(tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"availability": {"timezone": "Europe/London"}}), "utf-8")
    code, _, err = run(
        "meetings", "match", str(EXAMPLES / "aa-northbridge.json"), "--request", str(path)
    )
    assert code == 3 and "availability.windows" in err


def test_pack_writes_the_html_for_a_clients_events(tmp_path):
    directory = tmp_path / "dir.json"
    run("meetings", "import", str(EXAMPLES / "aa-northbridge.json"), "--out", str(directory))
    out_html = tmp_path / "pack.html"
    code, out, _ = run(
        "pack",
        "--events",
        str(ROOT / "examples/journeys/nervous-with-peer.jsonl"),
        "--directory",
        str(directory),
        "--request",
        str(request_file(tmp_path)),
        "--out",
        str(out_html),
        "--json",
    )
    payload = json.loads(out)
    assert code == 0 and payload["large_type"] is True and payload["meetings"]
    assert '<h2 id="h6a">' in out_html.read_text("utf-8")


def test_sources_lists_the_builtin_formats():
    code, out, _ = run("meetings", "sources", "--json")
    assert code == 0 and {s["name"] for s in json.loads(out)} == {
        "meeting-guide",
        "csv",
        "bmlt",
        "hsds",
    }


@dataclass(frozen=True)
class _FakeSource:
    name: str = "vendor-directory"
    description: str = "a fake vendor directory"

    def load(self, location, *, options, client=None):
        return ImportReport(source=location)


class _Plugin:
    @hookimpl
    def fama_register_meeting_sources(self, register):
        register(_FakeSource())


def test_a_plugin_adds_a_meeting_source_through_the_hook():
    host = PluginHost(entry_points=False)
    host.register(_Plugin(), name="fake")
    try:
        assert set(host.meeting_sources()) == {
            "meeting-guide",
            "csv",
            "bmlt",
            "hsds",
            "vendor-directory",
        }
        code, out, _ = run(
            "meetings", "import", "anywhere", "--format", "vendor-directory", host=host
        )
        assert code == 0 and "0 of 0 meetings imported" in out
    finally:
        host.unregister("fake")


def test_two_sources_with_one_name_clash():
    class Clash:
        @hookimpl
        def fama_register_meeting_sources(self, register):
            register(_FakeSource(name="csv"))

    host = PluginHost(entry_points=False)
    host.register(Clash(), name="clash")
    with pytest.raises(PluginError, match="meeting source 'csv'"):
        host.meeting_sources()


def test_the_demo_writes_a_pack_for_each_demo_client(tmp_path):
    code, out, _ = run("demo", "--examples", str(ROOT / "examples"), "--out", str(tmp_path))
    assert code == 0
    packs = sorted(p.name for p in (tmp_path / "packs").glob("*.html"))
    assert packs == [f"demo-c00{i}.html" for i in range(1, 6)]
    assert "refused meetings[2]: invalid meeting: day" in out
    assert "paired with vol-02 (recovery_champion)" in out and "workflow accepted" in out
