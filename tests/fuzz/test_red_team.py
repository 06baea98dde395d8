"""Red team, 2026-11-30: hostile input that a command printed or a reader choked on.

One test per finding; each failed on main before its fix. What was tried and held
is listed in ``docs/security.md`` (the red-team section), with the test that shows it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fama_adapters.cli import ExitCode

from .corpus import build, run


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("red"))


def test_revoking_by_a_pasted_token_never_prints_the_token(valid: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_bytes((valid / "tokens.json").read_bytes())
    secret = "fama_" + "S3cretBearerValue" * 2  # the token itself, given where its id goes
    code, out, err = run("tokens", "revoke", secret, "--file", str(tokens))
    assert code == ExitCode.FAILED
    assert "Traceback" not in err
    assert "S3cretBearerValue" not in out + err
    assert "fama tokens list" in err


def test_revoking_an_unknown_id_still_names_the_id(valid: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_bytes((valid / "tokens.json").read_bytes())
    code, _out, err = run("tokens", "revoke", "t-0badc0de", "--file", str(tokens))
    assert code == ExitCode.FAILED
    assert "t-0badc0de" in err
