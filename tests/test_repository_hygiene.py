"""The repository holds source, never a developer's machine: no virtual environment in it.

A commit once added ``.venv`` as a symbolic link (``.gitignore`` named ``.venv/``, which
ignores a directory, not a link): every checkout that took it had its own ignored ``.venv``
directory deleted and replaced by a link to another machine's path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gitignore_ignores_a_venv_whether_directory_or_link():
    lines = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert ".venv" in lines


def test_no_virtual_environment_is_tracked():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".venv", "venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked == []
