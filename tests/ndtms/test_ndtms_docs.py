"""docs/ndtms.md stays true: its example runs, its tables match the packaged data."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from fama_core.ndtms import DATASET_VERSIONS, load_dataset, load_rules

DOC = (Path(__file__).parents[2] / "docs" / "ndtms.md").read_text("utf-8")


def test_python_example_prints_what_the_doc_says():
    code = re.search(r"```python\n(.*?)```", DOC, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/ndtms.md", "exec"), {})
    assert out.getvalue().strip() == "[('R1', 'N'), ('R2', 'Y')]"


def test_mapping_table_lists_exactly_the_items_fama_fills():
    documented = set(re.findall(r"^\| `([A-Z]+)` \| [a-z]", DOC, re.M))
    for version in DATASET_VERSIONS:
        fills = {f.name for f in load_dataset(version).fields if f.fama_fills}
        assert documented == fills


def test_every_validation_code_is_documented():
    for code in load_rules():
        assert f"`{code}`" in DOC


def test_every_table_cites_known_sources_and_lists_its_provisional_items():
    for version in DATASET_VERSIONS:
        table = load_dataset(version)
        assert table.field("RECMAID").fama_fills == "mutual_aid"
        assert "flag values" in table.provisional_items()
        assert all(f.sources for f in table.fields)


def test_the_contexts_file_is_a_published_schema_and_the_docs_example_is_valid(capsys):
    import json

    from fama_adapters.cli import main
    from fama_core.ndtms import NdtmsContext

    example = re.search(r"```json\n(\{\"treatment\".*?)```", DOC, re.S).group(1)
    NdtmsContext.model_validate_json(example)  # the documented line is a valid context
    schemas = Path(__file__).parents[2] / "schemas"
    published = json.loads((schemas / "ndtms-context.schema.json").read_text("utf-8"))
    assert published["required"] == ["treatment"]
    assert "Intervention" in published["$defs"] and "TreatmentContext" in published["$defs"]
    assert (schemas / "ndtms-rules.schema.json").exists()
    assert main(["schema", "ndtms-context.schema.json"]) == 0
    assert json.loads(capsys.readouterr().out) == published
