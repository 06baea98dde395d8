"""Built-in plugin: registers the ``hl7v2`` record system and its demo step.

Registered like any third-party plugin (``[project.entry-points.fama]`` in
``pyproject.toml``, and by import path in ``BUILTIN_PLUGINS``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fama_adapters import net
from fama_adapters.cli import (
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    ExitCode,
    render_table,
)
from fama_adapters.hl7v2 import er7, tables
from fama_adapters.hl7v2.adapter import (
    NOT_UTF8,
    SAFE_ID,
    Hl7v2RecordSystem,
    decode_message,
    split_batch_bytes,
)
from fama_adapters.hl7v2.mllp import AckRejected, MllpClient
from fama_adapters.hl7v2.testing import loopback_receiver
from fama_adapters.hookspecs import hookimpl
from fama_adapters.record_systems import RecordSystem
from fama_core.errors import MappingError, TransportError

__all__ = ["fama_register_commands", "fama_register_demo_steps", "fama_register_record_systems"]


@hookimpl
def fama_register_record_systems(register: Callable[[RecordSystem], None]) -> None:
    """The HL7 v2.5 record system, named ``hl7v2``."""
    register(Hl7v2RecordSystem())


def _demo(demo: DemoContext) -> None:
    system = Hl7v2RecordSystem()
    folder = demo.out / "hl7"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.hl7"):
        old.unlink()
    rows = []
    texts: list[str] = []
    for client_id, state in sorted(demo.data.get("caseload", {}).items()):
        events = demo.data["events"][client_id]
        kinds: Counter[str] = Counter()
        for n, message in enumerate(system.messages(state, events), 1):
            text = system.encode(message)
            # CR between segments as HL7 requires, and one after the last.
            (folder / f"{client_id}-{n:03d}-{message.kind}.hl7").write_bytes(text.encode() + b"\r")
            texts.append(text)
            kinds[message.kind] += 1
        rows.append((client_id, kinds["goals"], kinds["referral"], kinds["session"]))
    demo.cli.stdout.write(f"HL7 v2.5 messages ({folder}): {len(texts)}\n\n")
    demo.cli.stdout.write(
        render_table(("client", "PGL goals", "REF^I12 referral", "ORU^R01 sessions"), rows)
    )
    # Send them all over MLLP to hl7apy's own MLLP server on loopback, validating STRICT.
    with loopback_receiver() as receiver, MllpClient(receiver.host, receiver.port) as client:
        for text in texts:
            client.send(text)
    codes = Counter(code for _cid, code in receiver.answers)
    summary = ", ".join(f"{n} {code}" for code, n in sorted(codes.items()))
    demo.cli.stdout.write(
        f"\nsent over MLLP to a loopback receiver (hl7apy, STRICT validation): {summary}\n\n"
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Write the demo caseload as HL7 v2.5 messages under ``out/demo/hl7/``."""
    register(DemoStep("hl7v2", 30, _demo))


def _run_hl7(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.action == "read":
        payload = b"".join(Path(f).read_bytes() + b"\r" for f in args.files)
        result = Hl7v2RecordSystem(
            authority=args.authority, disposition_codes=args.disposition_codes
        ).inbound(payload)
        rows = [
            (c.client_id, c.treatment_episode_id, c.started_on, c.ended_on or "", c.transferred)
            for c in result.contexts
        ]
        ctx.emit(
            {
                "contexts": [c.model_dump(mode="json") for c in result.contexts],
                "merges": [
                    {"merged": m.merged, "survivor": m.survivor, "on": str(m.on)}
                    for m in result.merges
                ],
                "problems": [str(p) for p in result.problems],
            },
            render_table(("client", "treatment episode", "started", "ended", "transferred"), rows)
            + "".join(f"merged {m.merged} into {m.survivor} on {m.on}\n" for m in result.merges)
            + "".join(f"problem: {p}\n" for p in result.problems),
        )
        return ExitCode.PARTIAL if result.problems else ExitCode.OK
    return _send(args, ctx)


def _safe_control_id(text: str) -> str:
    """MSH-10 when it is an id; anything else is not echoed (it could be free text)."""
    try:
        control_id = er7.parse(text).control_id
    except MappingError:
        return ""
    return control_id if SAFE_ID.fullmatch(control_id) else "(not an id)"


def _send(args: argparse.Namespace, ctx: CliContext) -> int:
    """Send every message of the files; content is never printed.

    Each message gets a row: file, control id and the receiver's answer (with
    its sanitised reason for AE/AR). When the receiver cannot be reached or
    stops answering, the rows of the messages already answered are printed, in
    text as in JSON, with how many were not sent, and the exit code is 3.
    """
    outcomes: list[dict[str, str]] = []
    failed = False
    pending = [(name, raw) for name in args.files for raw in split_batch_bytes(_read(name))]
    error = ""
    with MllpClient(args.host, args.port, timeout=args.timeout, retries=args.retries) as client:
        for index, (name, raw) in enumerate(pending):
            row = {"file": name, "control_id": "", "ack": "", "reason": ""}
            outcomes.append(row)
            try:
                text = decode_message(raw)
            except UnicodeDecodeError:  # report this message, send the others
                failed = True
                row["ack"] = f"not sent: {NOT_UTF8}"
                continue
            row["control_id"] = _safe_control_id(text)
            try:
                row["ack"] = client.send(text).code
            except AckRejected as exc:
                failed = True
                row["ack"], row["reason"] = exc.code, exc.reason
            except MappingError as exc:  # not a message, or a framing byte: not sent
                failed = True
                row["ack"] = f"not sent: {exc}"
            except TransportError as exc:
                outcomes.pop()
                left = len(pending) - index
                error = f"{exc}; {left} message(s) not sent"
                break
    rows = [
        (o["file"], o["control_id"], o["ack"] + (f" {o['reason']}" if o["reason"] else ""))
        for o in outcomes
    ]
    payload: dict[str, object] = {"sent": outcomes}
    text_out = render_table(("file", "control id", "answer"), rows)
    if error:
        payload["error"] = error
        text_out += f"fama hl7 send: {error}\n"
    ctx.emit(payload, text_out)
    if error:
        return ExitCode.FAILED
    return ExitCode.PARTIAL if failed else ExitCode.OK


def _read(name: str) -> bytes:
    return Path(name).read_bytes()


def _port(value: str) -> int:
    """``argparse`` type for ``--port``: 1 to 65535."""
    if not (value.strip().isascii() and value.strip().isdigit()) or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError("give a TCP port from 1 to 65535")
    return int(value)


def _retries(value: str) -> int:
    """``argparse`` type for ``--retries``: a whole number from 0 to 10."""
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) > 10:
        raise argparse.ArgumentTypeError("give a whole number of resends from 0 to 10")
    return int(value)


def _disposition_codes(value: str) -> frozenset[str]:
    """``argparse`` type for ``--disposition-codes``: codes of the form PV1-36 takes."""
    codes = frozenset(c.strip() for c in value.split(",") if c.strip())
    if not codes or not all(tables.DISPOSITION_CODE.fullmatch(c) for c in codes):
        raise argparse.ArgumentTypeError(
            "give codes of 1 to 20 letters, digits, . _ or -, separated by commas"
        )
    return codes


def _configure_hl7(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("send", "read"), help="send over MLLP, or read ADT files")
    p.add_argument("files", nargs="+", help="files of HL7 v2 messages (one or several each)")
    p.add_argument("--host", default="127.0.0.1", help="MLLP receiver (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=2575, help="MLLP port (default: 2575)")
    p.add_argument(
        "--timeout", type=net.timeout_arg, default=10.0, help="seconds to wait for each ACK"
    )
    p.add_argument(
        "--retries", type=_retries, default=2, help="resends after a reject or timeout (0-10)"
    )
    p.add_argument("--authority", help="read: PID-3 assigning authority of the client key")
    p.add_argument(
        "--disposition-codes",
        type=_disposition_codes,
        help="read: your table 0112, the PV1-36 codes to accept, comma-separated (e.g. 01,02,09)",
    )


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``fama hl7 send|read``: push messages over MLLP, or read treatment context from ADT."""
    register(
        Command(
            "hl7",
            "send HL7 v2 messages over MLLP, or read treatment context from ADT files",
            _run_hl7,
            _configure_hl7,
        )
    )
