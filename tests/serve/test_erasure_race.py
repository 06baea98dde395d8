"""An event appended between the If-Match check and the erasure: 409, nothing erased.

The route checked the version and then erased; a deterministic interleaving
(an append made just before the store erases, after the route's own check)
used to erase the new event too and answer 200. The store now compares and
erases in one transaction.
"""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from serve_helpers import as_json, opened

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from fama_adapters.facade import Fama  # noqa: E402
from fama_adapters.http.app import Service, create_app  # noqa: E402
from fama_adapters.http.audit import AccessAudit  # noqa: E402
from fama_adapters.http.tokens import TokenFile  # noqa: E402
from fama_core.personal import ERASED  # noqa: E402

NOTE = "ERASURE-RACE-PRIVATE-NOTE"


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_an_append_between_check_and_erase_is_a_409_and_nothing_is_erased(
    tmp_path, monkeypatch, store
):
    tokens = TokenFile(tmp_path / "tokens.json")
    lead, _ = tokens.issue(agency="AG1", role="data_lead", name="lead")
    url = f"sqlite:///{tmp_path}/{{agency}}.db" if store == "sqlite" else "memory://{agency}"
    service = Service(store_url=url, tokens=tokens, audit=AccessAudit(io.StringIO()))
    journey = opened("race-1")
    journey.session2()
    first, late = journey.events[:2], journey.events[2:]
    fama = service.fama("AG1")
    fama.record(first)
    version = fama.store.version("race-1")

    real_erase = Fama.erase

    def erase_after_a_late_append(self, client_id, **kwargs):
        # Another keyworker's write lands after the route read the version.
        self.store.append(client_id, late, expected_version=version)
        return real_erase(self, client_id, **kwargs)

    monkeypatch.setattr(Fama, "erase", erase_after_a_late_append)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await http.post(
                "/v1/clients/race-1/erasure",
                headers={"If-Match": f'"{version}"', "Authorization": f"Bearer {lead}"},
            )

    r = asyncio.run(go())
    assert r.status_code == 409, r.text
    assert fama.store.erasure("race-1") is None
    stored = fama.store.read("race-1")
    assert len(stored) == version + len(late)
    assert not any(ERASED in e.payload for e in stored)


def test_the_note_survives_a_refused_erasure(tmp_path, monkeypatch):
    """The same interleaving with a personal note: it still reads back."""
    tokens = TokenFile(tmp_path / "tokens.json")
    lead, _ = tokens.issue(agency="AG1", role="data_lead", name="lead")
    service = Service(
        store_url=f"sqlite:///{tmp_path}/{{agency}}.db",
        tokens=tokens,
        audit=AccessAudit(io.StringIO()),
    )
    events = as_json(opened("race-2").events)
    events[1]["steps"][0]["note"] = NOTE
    fama = service.fama("AG1")
    from fama_core.events import event_from_mapping

    fama.record([event_from_mapping(e) for e in events[:1]])
    version = fama.store.version("race-2")
    real_erase = Fama.erase

    def erase_after_a_late_append(self, client_id, **kwargs):
        self.store.append(
            client_id, [event_from_mapping(e) for e in events[1:]], expected_version=version
        )
        return real_erase(self, client_id, **kwargs)

    monkeypatch.setattr(Fama, "erase", erase_after_a_late_append)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await http.post(
                "/v1/clients/race-2/erasure",
                headers={"If-Match": str(version), "Authorization": f"Bearer {lead}"},
            )

    r = asyncio.run(go())
    assert r.status_code == 409, r.text
    assert NOTE not in r.text
    assert any(NOTE in e.payload for e in fama.store.read("race-2"))


def test_a_store_that_cannot_compare_and_erase_is_refused_not_raced(tmp_path):
    """A plugin store whose erase takes no expected version: 409, nothing erased."""
    from fama_adapters.store.memory import MemoryEventStore
    from fama_core.errors import StoreError

    class OldStore(MemoryEventStore):
        def erase(self, client_id):  # the signature before compare-and-erase
            return super().erase(client_id)

    tokens = TokenFile(tmp_path / "tokens.json")
    lead, _ = tokens.issue(agency="AG1", role="data_lead", name="lead")
    service = Service(
        store_url="memory://{agency}", tokens=tokens, audit=AccessAudit(io.StringIO())
    )
    fama = Fama(OldStore("memory://AG1"))
    service._open["AG1"] = fama
    fama.record(opened("race-3").events)
    version = fama.store.version("race-3")
    assert not fama.can_compare_and_erase
    with pytest.raises(StoreError):
        fama.erase("race-3", expected_version=version)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await http.post(
                "/v1/clients/race-3/erasure",
                headers={"If-Match": str(version), "Authorization": f"Bearer {lead}"},
            )

    r = asyncio.run(go())
    assert r.status_code == 409 and "erasure-unsupported" in r.text
    assert fama.store.erasure("race-3") is None
    assert Fama(MemoryEventStore("memory://x")).can_compare_and_erase
