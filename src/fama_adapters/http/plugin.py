"""Built-in plugin: ``fama serve``, ``fama tokens`` and ``fama openapi``.

FastAPI and uvicorn (the ``serve`` extra) are imported only when ``fama
serve`` or ``fama openapi`` runs, so the rest of the command line neither
needs nor pays for them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

from fama_adapters.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    render_table,
)
from fama_adapters.hookspecs import hookimpl
from fama_adapters.http.tokens import Role, TokenFile
from fama_adapters.store import DEFAULT_STORE_URL

_LEAST_THRESHOLD = 5
"""``fama_core.commissioning.DEFAULT_THRESHOLD``, not imported at start-up (the service checks
they agree)."""

__all__ = ["bind", "fama_register_commands", "fama_register_demo_steps", "openapi_text"]

DEFAULT_TOKENS = "fama-tokens.json"
DEFAULT_AUDIT = "fama-access.jsonl"
OPENAPI_PATH = "schemas/openapi.json"
"""Where the checked-in OpenAPI document lives (``make schemas`` writes it)."""

_MISSING_EXTRA = (
    "the HTTP service needs FastAPI and uvicorn: pip install 'fama-mutual-aid[serve]' "
    "(or the project's dev install)"
)


def _need_stack() -> bool:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------- openapi


def openapi_text() -> str:
    """The service's OpenAPI 3.1 document, as checked in under ``schemas/``."""
    import io

    from fama_adapters.http.app import Service, create_app
    from fama_adapters.http.audit import AccessAudit

    service = Service(
        store_url="memory://{agency}",
        tokens=TokenFile(os.devnull),
        audit=AccessAudit(io.StringIO()),
    )
    document = create_app(service).openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _run_openapi(args: argparse.Namespace, ctx: CliContext) -> int:
    if not _need_stack():
        ctx.stderr.write(f"fama openapi: {_MISSING_EXTRA}\n")
        return EXIT_FAILED
    text = openapi_text()
    target = Path(args.write or args.check or OPENAPI_PATH)
    if args.check:
        current = target.is_file() and target.read_text("utf-8") == text
        ctx.emit(
            {"stale": not current},
            f"{target} is current" if current else f"{target} is stale (run make schemas)",
        )
        return EXIT_OK if current else EXIT_PARTIAL
    if args.write:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        ctx.emit({"written": str(target)}, f"wrote {target}")
        return EXIT_OK
    ctx.stdout.write(text)
    return EXIT_OK


def _configure_openapi(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PATH", help=f"write it (e.g. {OPENAPI_PATH})")
    group.add_argument("--check", metavar="PATH", help="exit 1 when PATH differs from it")


# ----------------------------------------------------------------------- tokens


def _run_tokens(args: argparse.Namespace, ctx: CliContext) -> int:
    tokens = TokenFile(args.file)
    if args.action == "issue":
        if not args.agency or not args.role:
            ctx.stderr.write("fama tokens issue: give --agency and --role\n")
            return EXIT_FAILED
        token, record = tokens.issue(agency=args.agency, role=args.role, name=args.name or "")
        ctx.emit(
            {"token": token, **{k: v for k, v in record.as_json().items() if k != "sha256"}},
            f"issued {record.id} ({record.role.value}, agency {record.agency})\n"
            f"{token}\n"
            "This is the only time the token is shown: give it to its holder now.",
        )
        return EXIT_OK
    if args.action == "revoke":
        if not args.id:
            ctx.stderr.write("fama tokens revoke: give the token id (see fama tokens list)\n")
            return EXIT_FAILED
        record = tokens.revoke(args.id)
        ctx.emit({"revoked": record.id}, f"revoked {record.id}")
        return EXIT_OK
    records = tokens.records()
    ctx.emit(
        [{k: v for k, v in r.as_json().items() if k != "sha256"} for r in records],
        render_table(
            ("id", "name", "agency", "role", "issued"),
            [(r.id, r.name or "-", r.agency, r.role.value, r.issued_at) for r in records],
        ),
    )
    return EXIT_OK


def _configure_tokens(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("issue", "list", "revoke"))
    p.add_argument("id", nargs="?", help="revoke: the token id")
    p.add_argument(
        "--file",
        default=os.environ.get("FAMA_TOKENS", DEFAULT_TOKENS),
        help=f"token file (default: FAMA_TOKENS, else {DEFAULT_TOKENS})",
    )
    p.add_argument("--agency", help="issue: the agency code (NDTMS AGNCY) the token is bound to")
    p.add_argument("--role", choices=[r.value for r in Role], help="issue: the token's role")
    p.add_argument("--name", help="issue: who or what holds it (shown in the access audit)")


# ----------------------------------------------------------------------- serve


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _run_serve(args: argparse.Namespace, ctx: CliContext) -> int:
    if not _need_stack():
        ctx.stderr.write(f"fama serve: {_MISSING_EXTRA}\n")
        return EXIT_FAILED
    import logging

    import uvicorn

    from fama_adapters.http.app import API_PREFIX, Service, asgi
    from fama_adapters.http.audit import AccessAudit

    if args.pdf_concurrency < 1:
        ctx.stderr.write("fama serve: --pdf-concurrency must be at least 1\n")
        return EXIT_USAGE
    if args.report_threshold < _LEAST_THRESHOLD:
        ctx.stderr.write(f"fama serve: --report-threshold must be at least {_LEAST_THRESHOLD}\n")
        return EXIT_USAGE
    tokens = TokenFile(args.tokens)
    count = tokens.check()
    service = Service(
        store_url=args.store,
        tokens=tokens,
        audit=AccessAudit(args.audit),
        agency=args.agency,
        max_body=args.max_body,
        timeout=args.timeout,
        pdf_concurrency=args.pdf_concurrency,
        report_threshold=args.report_threshold,
        meetings=args.meetings,
        host=ctx.host,
    )
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        ctx.stderr.write(f"fama serve: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
        service.close()
        return EXIT_FAILED
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{shown}:{port}"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ctx.stdout.write(
        f"fama serve on {base}{API_PREFIX} (store {service.describe()}, {count} tokens)\n"
        f"OpenAPI page: {base}{API_PREFIX}/docs\n"
    )
    if args.host not in {"127.0.0.1", "::1", "localhost"}:
        ctx.stderr.write(
            "fama serve: listening beyond loopback; put a TLS-terminating proxy in front "
            "(docs/http-api.md) and never expose this port directly\n"
        )
    ctx.stdout.flush()
    config = uvicorn.Config(
        asgi(service),
        access_log=False,  # access lines name clients: the access audit is where they go
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_keep_alive=5,
        limit_concurrency=args.limit_concurrency,
        h11_max_incomplete_event_size=16_384,
        server_header=False,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        service.close()
        sock.close()
    return EXIT_OK


def _configure_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        default=os.environ.get("FAMA_STORE", DEFAULT_STORE_URL),
        help="store URL; name {agency} for one store per agency, e.g. "
        "sqlite:///var/fama/{agency}.db (default: FAMA_STORE, else " + DEFAULT_STORE_URL + ")",
    )
    p.add_argument("--agency", help="the one agency served when the store URL has no {agency}")
    p.add_argument(
        "--tokens",
        default=os.environ.get("FAMA_TOKENS", DEFAULT_TOKENS),
        help=f"token file from fama tokens (default: FAMA_TOKENS, else {DEFAULT_TOKENS})",
    )
    p.add_argument(
        "--audit",
        default=os.environ.get("FAMA_ACCESS_AUDIT", DEFAULT_AUDIT),
        help=f"access audit file, JSON lines (default: FAMA_ACCESS_AUDIT, else {DEFAULT_AUDIT})",
    )
    p.add_argument(
        "--meetings",
        metavar="FILE",
        help="saved meeting directory (fama meetings import --out) for matching and packs; "
        "may name {agency}",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    p.add_argument("--max-body", type=int, default=1_048_576, help="largest body, bytes")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before a 503")
    p.add_argument(
        "--pdf-concurrency",
        type=int,
        default=2,
        help="packs printed to PDF by Chromium at once; more is 503 with Retry-After (default 2)",
    )
    p.add_argument(
        "--report-threshold",
        type=int,
        default=_LEAST_THRESHOLD,
        metavar="N",
        help="GET /v1/report withholds counts of 1 to N-1 clients; every answer uses it "
        f"(default {_LEAST_THRESHOLD}, the least allowed)",
    )
    p.add_argument(
        "--limit-concurrency", type=int, default=200, help="connections before 503 (uvicorn)"
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies trusted for X-Forwarded-For/-Proto (default: 127.0.0.1)",
    )


# ----------------------------------------------------------------------- demo


def _demo_step(demo: DemoContext) -> None:
    """Start the service on loopback, record the sample journeys over HTTP, read them back."""
    if not _need_stack():
        demo.cli.stdout.write(f"HTTP service: skipped ({_MISSING_EXTRA})\n\n")
        return
    import threading

    import httpx
    import uvicorn

    from fama_adapters.cli.core_commands import load_journeys
    from fama_adapters.http.app import API_PREFIX, Service, asgi
    from fama_adapters.http.audit import AccessAudit
    from fama_core.events import event_to_json

    folder = demo.out / "serve"
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    tokens = TokenFile(folder / "tokens.json")
    # A token generated now, for this run only: nothing secret is ever committed.
    token, _record = tokens.issue(agency="DEMO1", role="keyworker", name="demo keyworker")
    service = Service(
        store_url=f"sqlite:///{folder}/{{agency}}.db",
        tokens=tokens,
        audit=AccessAudit(folder / "access.jsonl"),
        host=demo.cli.host,
    )
    sock = bind("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(asgi(service), access_log=False, log_config=None, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    rows = []
    try:
        with httpx.Client(
            base_url=base + API_PREFIX,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0),
        ) as http:
            for _ in range(600):
                if server.started:
                    break
                threading.Event().wait(0.05)
            for _name, title, events in load_journeys(demo.examples / "journeys"):
                client = events[0].client_id
                body = [json.loads(event_to_json(e)) for e in events]
                sent = http.post(f"/clients/{client}/events", json=body, headers={"If-Match": "0"})
                back = http.get(f"/clients/{client}")
                rows.append(
                    (
                        client,
                        title,
                        sent.status_code,
                        back.json().get("version"),
                        back.json().get("status"),
                    )
                )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        service.close()
        sock.close()
    demo.cli.stdout.write(f"HTTP service (fama serve) on {base}{API_PREFIX}\n\n")
    demo.cli.stdout.write(
        render_table(("client", "journey", "POST events", "version read back", "status"), rows)
    )
    demo.cli.stdout.write(
        f"\nOpenAPI page: {base}{API_PREFIX}/docs (served during the demo; to keep it running:\n"
        f"  fama serve --store 'sqlite:///{folder}/{{agency}}.db' --tokens {folder}/tokens.json "
        f"--audit {folder}/access.jsonl --port 8000\n"
        f"  then open http://127.0.0.1:8000{API_PREFIX}/docs)\n\n"
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """The HTTP service demo, after the event store's."""
    register(DemoStep("http", 55, _demo_step))


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``serve``, ``tokens`` and ``openapi``."""
    register(
        Command(
            "serve",
            "serve the records over HTTP/JSON (OpenAPI), for vendors in any language",
            _run_serve,
            _configure_serve,
        )
    )
    register(
        Command(
            "tokens",
            "issue, list or revoke the bearer tokens of fama serve",
            _run_tokens,
            _configure_tokens,
        )
    )
    register(
        Command(
            "openapi",
            "print, write or check the OpenAPI document of fama serve",
            _run_openapi,
            _configure_openapi,
        )
    )
