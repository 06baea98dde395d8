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
