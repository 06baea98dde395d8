"""The examples in the docs and the docstrings of the plugin and HL7 modules run as doctests."""

import doctest
from pathlib import Path

import pytest

import fama_adapters.hl7v2.er7
import fama_adapters.hl7v2.messages
import fama_adapters.testing

ROOT = Path(__file__).resolve().parents[1]


def test_writing_an_adapter_guide_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(
        str(ROOT / "docs" / "writing-an-adapter.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS,
    )
    assert result.attempted > 10 and result.failed == 0


@pytest.mark.parametrize(
    "module",
    [fama_adapters.testing, fama_adapters.hl7v2.er7, fama_adapters.hl7v2.messages],
    ids=lambda m: m.__name__,
)
def test_module_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0
