"""Generated files in the repository are current: schemas, workflow docs, sample journeys."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

from fama_adapters.cli import main
from fama_core.diagram import workflow_markdown
from fama_core.schema import all_schemas

ROOT = Path(__file__).parent.parent


def test_checked_in_schemas_are_current():
    out = io.StringIO()
    code = main(["schema", "--check", "--dir", str(ROOT / "schemas")], stdout=out)
    assert code == 0, out.getvalue() + " — run `make schemas`"


def test_schema_check_reports_a_stale_file(tmp_path):
    for name, schema in all_schemas().items():
        (tmp_path / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    (tmp_path / "goal.schema.json").write_text("{}")
    out = io.StringIO()
    assert main(["schema", "--check", "--dir", str(tmp_path)], stdout=out) == 1
    assert "goal.schema.json" in out.getvalue()


def test_event_schema_lists_every_event_kind():
    from fama_core.events import EVENT_KINDS

    schema = all_schemas()["event.schema.json"]
    kinds = set(schema["discriminator"]["mapping"])
    assert kinds == set(EVENT_KINDS)


def test_workflow_doc_is_current():
    assert (ROOT / "docs" / "workflow.md").read_text("utf-8") == workflow_markdown(), (
        "run `make docs`"
    )


def test_event_reference_is_current():
    from fama_core.reference import event_reference_markdown

    assert (ROOT / "docs" / "event-reference.md").read_text(
        "utf-8"
    ) == event_reference_markdown(), "run `make docs`"


def test_sample_journeys_are_current():
    spec = importlib.util.spec_from_file_location(
        "make_journeys", ROOT / "examples" / "make_journeys.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.render().items():
        assert (ROOT / "examples" / "journeys" / name).read_text("utf-8") == text, name


def _doc_table(heading: str) -> list[list[str]]:
    text = (ROOT / "docs" / "event-reference.md").read_text("utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def _names(cell: str) -> set[str]:
    return {name.strip("` ") for name in cell.split(",") if name.strip("` -")}


def test_the_objects_in_the_event_reference_agree_with_the_json_schema():
    """What a vendor reads (required and optional fields, codes) is what the schema checks."""
    defs = all_schemas()["event.schema.json"]["$defs"]
    objects = _doc_table("Fields of the objects events carry")
    assert {"AccompanimentArrangement", "MeetingRef", "JournalEntry"} <= {
        row[0].strip("`") for row in objects
    }
    for name, _where, required, optional in objects:
        schema = defs[name.strip("`")]
        assert _names(required) == set(schema.get("required", [])), name
        assert _names(required) | _names(optional) == set(schema["properties"]), name
    for field, codes in _doc_table("Codes a field takes"):
        name, owner = field.split(" (")
        owner = owner.rstrip(")")
        owner_def = next(
            d
            for key, d in defs.items()
            if key == owner or d.get("properties", {}).get("kind", {}).get("const") == owner
        )
        prop = owner_def["properties"][name.strip("`")]
        ref = json.dumps(prop)
        enum_name = next(k for k in defs if f'"#/$defs/{k}"' in ref and "enum" in defs[k])
        assert _names(codes) == set(defs[enum_name]["enum"]), field
