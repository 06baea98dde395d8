"""Fixtures for the store tests: every store kind, and a real PostgreSQL server when installed.

The PostgreSQL server is started once per test session from Debian's packages
(``initdb`` and ``pg_ctl`` under ``/usr/lib/postgresql/*/bin``) in a temporary
folder, listening only on a Unix socket there (no TCP port at all). As root it
runs as the ``postgres`` system user the package creates. Each test gets a
schema of its own. Set ``FAMA_TEST_POSTGRES`` to a libpq URL to use an existing
server instead. Without either, the PostgreSQL tests skip and say why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fama_adapters.store import EventStore
from fama_adapters.store.memory import MemoryEventStore
from fama_adapters.store.sqlite import SqliteEventStore

NO_SERVER = (
    "PostgreSQL tests skipped: no PostgreSQL server binaries (initdb, pg_ctl) found; "
    "install Debian's package with `apt-get install -y --no-install-recommends postgresql` "
    "(as .ci/run does) or set FAMA_TEST_POSTGRES to a server URL"
)


def _bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A libpq URL of a running PostgreSQL server (started here), or skip."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (the dev extra)")
    if existing := os.environ.get("FAMA_TEST_POSTGRES"):
        yield existing
        return
    bindir = _bindir()
    if bindir is None:
        pytest.skip(NO_SERVER)
    base = Path(tempfile.mkdtemp(prefix="fama-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL tests skipped: running as root and no 'postgres' user exists")
        os.chown(base, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres"]
            + ["--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w"]
            + ["-o", f"-k {base} -c listen_addresses='' -c max_connections=50", "start"],
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}")
    try:
        yield f"postgresql://postgres@/postgres?host={base}"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL whose ``search_path`` is a fresh schema: one empty store per test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in postgres_server else "?"
    return f"{postgres_server}{sep}options=-c%20search_path%3D{schema}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a SQLite store in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'fama.db'}"


STORE_KINDS = ["memory", "sqlite", "postgres"]


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store kind in turn."""
    return str(request.param)


@pytest.fixture
def connect(store_kind: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], EventStore]]:
    """Open a new handle (connection) on one store shared by the test; all closed after it."""
    handles: list[EventStore] = []
    if store_kind == "memory":
        shared = MemoryEventStore()

        def opener() -> EventStore:
            return shared
    elif store_kind == "sqlite":
        path = request.getfixturevalue("tmp_path") / "fama.db"

        def opener() -> EventStore:
            store = SqliteEventStore(path)
            handles.append(store)
            return store
    else:
        from fama_adapters.store.postgres import PostgresEventStore

        url = request.getfixturevalue("postgres_url")

        def opener() -> EventStore:
            store = PostgresEventStore(url)
            handles.append(store)
            return store

    yield opener
    for handle in handles:
        handle.close()


@pytest.fixture
def store(connect: Callable[[], EventStore]) -> EventStore:
    """One empty store of each kind."""
    return connect()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A URL for each store kind that processes can share (SQLite, PostgreSQL)."""
    return str(request.getfixturevalue(f"{request.param}_url"))
