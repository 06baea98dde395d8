"""The published distribution: built as a wheel, installed into a clean virtual environment.

The wheel is built from this checkout without network (``--no-build-isolation``, with the
dev environment's setuptools) and installed with ``--no-deps`` into a new venv. The venv sees
fama's dependencies (pydantic, pluggy …) through a path file naming the test environment's
site-packages, which adds them without its ``.pth`` files, so fama itself can only come from
the wheel: the test checks that it does. Then the installed ``fama`` prints its version and
records and shows a tiny journey, which needs the packaged catalogue data and the built-in
plugins' entry points to be in the wheel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dist")
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
        "-w", work / "wheels", ROOT,
    )  # fmt: skip
    (wheel,) = (work / "wheels").glob("*.whl")
    assert wheel.name.startswith(PROJECT["name"].replace("-", "_") + "-")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("fama_core/catalogue/data/") for n in names)
    env = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", env)
    python = env / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # The dependencies, not fama: a plain path line adds the directory without running the
    # test environment's .pth files (where its editable fama lives).
    Path(purelib.strip(), "fama-test-deps.pth").write_text(sysconfig.get_paths()["purelib"])
    return env


def test_the_distribution_name_is_not_the_unrelated_fama_on_the_index():
    assert PROJECT["name"] == "fama-mutual-aid"
    assert PROJECT["scripts"]["fama"] == "fama_adapters.cli:main"


def test_fama_in_the_clean_venv_comes_from_the_wheel(venv):
    where = _run(venv / "bin" / "python", "-c", "import fama_core; print(fama_core.__file__)")
    assert Path(where.strip()).is_relative_to(venv)


def test_the_installed_fama_prints_its_version(venv):
    out = _run(venv / "bin" / "fama", "--version")
    assert out.strip() == f"fama {PROJECT['version']}"


def test_the_installed_fama_records_and_shows_a_tiny_journey(venv, tmp_path):
    journey = ROOT / "examples" / "journeys" / "declined-after-session-1.jsonl"
    store = f"sqlite:///{tmp_path}/fama.db"
    fama = venv / "bin" / "fama"
    _run(fama, "init", "--store", store)
    _run(fama, "record", journey, "--store", store)
    client = json.loads(journey.read_text("utf-8").splitlines()[0])["client_id"]
    shown = json.loads(_run(fama, "show", client, "--store", store, "--json"))
    assert shown["status"] == "declined"
