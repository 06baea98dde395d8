"""The MLLP client against a real MLLP listener on 127.0.0.1 started by the test."""

import socket
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters.hl7v2 import er7
from fama_adapters.hl7v2.mllp import AckRejected, MllpClient, frame
from fama_core.errors import MappingError, TransportError

MESSAGE = (
    "MSH|^~\\&|FAMA||||20260309170000+0000||ADT^A01^ADT_A01|ctl-1|P|2.5\r"
    "EVN||20260309170000+0000\rPID|||c-1^^^FAMA^PI||^^^^^^S\rPV1|1|O"
)


def ack(code: str, control_id: str) -> bytes:
    return frame(
        f"MSH|^~\\&|RECV||FAMA||20260309170001+0000||ACK^A01^ACK|a-1|P|2.5\rMSA|{code}|{control_id}"
    )


class Listener:
    """An MLLP listener answering each received frame with the next scripted reply.

    A reply is a function of the received control id returning bytes to send,
    or ``None`` to stay silent (the client then times out).
    """

    def __init__(self, replies: list[Callable[[str], bytes | None]]) -> None:
        self.replies = list(replies)
        self.received: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.replies:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                buffer = b""
                while self.replies:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    buffer += chunk
                    while b"\x1c\r" in buffer and self.replies:
                        data, _, buffer = buffer.partition(b"\x1c\r")
                        text = data.lstrip(b"\x0b").decode()
                        self.received.append(text)
                        reply = self.replies.pop(0)(er7.parse(text).control_id)
                        if reply is None:
                            break  # silent, then drop the connection
                        conn.sendall(reply)
                    else:
                        continue
                    if self.received and reply is None:
                        break

    def close(self) -> None:
        self.replies.clear()
        # Wake a thread blocked in accept(): closing the socket alone does not on Linux.
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def listener(request):
    made: list[Listener] = []

    def start(*replies):
        made.append(Listener(list(replies)))
        return made[-1]

    yield start
    for item in made:
        item.close()


def client(port: int, **kw) -> MllpClient:
    return MllpClient("127.0.0.1", port, timeout=kw.pop("timeout", 2.0), backoff=0, **kw)


def test_accepted_message_returns_its_ack(listener):
    server = listener(lambda cid: ack("AA", cid))
    with client(server.port) as c:
        result = c.send(MESSAGE)
    assert result.accepted and result.control_id == "ctl-1"
    assert server.received == [MESSAGE]


def test_several_messages_share_one_connection(listener):
    server = listener(lambda cid: ack("AA", cid), lambda cid: ack("AA", cid))
    with client(server.port) as c:
        c.send(MESSAGE)
        c.send(MESSAGE.replace("ctl-1", "ctl-2"))
    assert [er7.parse(m).control_id for m in server.received] == ["ctl-1", "ctl-2"]


def test_application_error_is_raised_at_once_without_resending(listener):
    server = listener(lambda cid: ack("AE", cid), lambda cid: ack("AA", cid))
    with client(server.port) as c, pytest.raises(AckRejected) as caught:
        c.send(MESSAGE)
    assert caught.value.code == "AE" and caught.value.attempts == 1
    assert len(server.received) == 1


def test_reject_is_resent_with_the_same_control_id(listener):
    server = listener(lambda cid: ack("AR", cid), lambda cid: ack("AA", cid))
    with client(server.port) as c:
        assert c.send(MESSAGE).accepted
    assert server.received == [MESSAGE, MESSAGE]


def test_reject_every_time_gives_up_after_the_retries(listener):
    server = listener(*[lambda cid: ack("AR", cid)] * 3)
    with client(server.port, retries=2) as c, pytest.raises(AckRejected) as caught:
        c.send(MESSAGE)
    assert caught.value.code == "AR" and caught.value.attempts == 3


def test_no_answer_times_out_and_resends_the_same_message(listener):
    server = listener(lambda cid: None, lambda cid: ack("AA", cid))
    with client(server.port, timeout=0.3) as c:
        assert c.send(MESSAGE).accepted
    assert server.received == [MESSAGE, MESSAGE]


def test_ack_for_another_message_is_not_taken_as_acceptance(listener):
    server = listener(lambda cid: ack("AA", "someone-else"), lambda cid: ack("AA", cid))
    with client(server.port) as c:
        assert c.send(MESSAGE).control_id == "ctl-1"
    assert len(server.received) == 2


def test_nobody_listening_is_a_transport_error_without_message_content():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(TransportError) as caught, client(port, retries=1) as c:
        c.send(MESSAGE)
    assert "cannot connect" in str(caught.value) and "c-1" not in str(caught.value)


def test_sending_logs_nothing(listener, caplog):
    import logging

    server = listener(lambda cid: ack("AE", cid))
    with caplog.at_level(logging.DEBUG), client(server.port) as c, pytest.raises(AckRejected):
        c.send(MESSAGE)
    assert caplog.records == []


def test_every_demo_message_is_accepted_by_hl7apys_mllp_server_at_strict_validation():
    """An independent receiver: hl7apy's MLLP server parses each message STRICT and answers.

    It closes the connection after each answer, so this also covers reconnecting, and it
    receives each message once: a closed connection is noticed before sending.
    """
    from fama_adapters.hl7v2 import Hl7v2RecordSystem
    from fama_adapters.hl7v2.testing import loopback_receiver

    from .test_adapter import demo_caseload

    system = Hl7v2RecordSystem()
    sent = []
    with loopback_receiver() as receiver:
        with MllpClient(receiver.host, receiver.port, timeout=5, backoff=0) as c:
            for state, events in demo_caseload():
                for message in system.messages(state, events):
                    sent.append(c.send(system.encode(message)).control_id)
    assert receiver.answers == [(cid, "AA") for cid in sent] and len(sent) == 41


def test_loopback_receiver_answers_ae_to_what_hl7apy_refuses():
    from fama_adapters.hl7v2.testing import loopback_receiver

    broken = MESSAGE.replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01")  # no OBR: not a valid ORU
    with loopback_receiver() as receiver, MllpClient(receiver.host, receiver.port) as c:
        with pytest.raises(AckRejected):
            c.send(broken)
    assert receiver.answers == [("ctl-1", "AE")]


# ------------------------------------------- issue 11 and 15: deadline, size, the reason


def reply_with(extra: str, code: str = "AE"):
    def answer(cid: str) -> bytes:
        return frame(
            "MSH|^~\\&|RECV||FAMA||20260309170001+0000||ACK^A01^ACK|a-1|P|2.5\r"
            f"MSA|{code}|{cid}|{extra}"
        )

    return answer


def test_an_application_errors_reason_is_shown_quoted_and_sanitised(listener):
    """Issue 15: an AE acknowledgement's reason (MSA-3, ERR) was never shown."""
    hostile = "Unknown patient c-1\x1b[2J\u202e" + "x" * 400
    server = listener(
        lambda cid: frame(
            "MSH|^~\\&|RECV||FAMA||20260309170001+0000||ACK^A01^ACK|a-1|P|2.5\r"
            f"MSA|AE|{cid}|{hostile}\r"
            "ERR||PID^1^3|204^Unknown key identifier^HL70357|E\r"
            "ERR||PV1^1^19|a b^bad code with spaces|W"
        )
    )
    with client(server.port) as c, pytest.raises(AckRejected) as caught:
        c.send(MESSAGE)
    reason = caught.value.reason
    assert 'error 204 "Unknown key identifier" at PID-1-3 severity E' in reason
    assert "error ? " in reason  # a code that is not a code is not repeated
    assert "\x1b" not in reason and "\u202e" not in reason
    assert len(reason) < 400
    assert reason in str(caught.value)


def test_an_ack_dripping_forever_ends_at_the_sends_deadline():
    """Issue 11 items 3 and 9: the MLLP send has an overall deadline, attempts included."""
    import time

    stop = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))

    def drip() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                while not stop.wait(0.05):
                    try:
                        conn.sendall(b"\x0bM")  # never an end block
                    except OSError:
                        break

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with (
            MllpClient(
                "127.0.0.1", server.getsockname()[1], timeout=5, retries=5, deadline=1.0
            ) as c,
            pytest.raises(TransportError) as caught,
        ):
            c.send(MESSAGE)
        assert time.monotonic() - started < 30  # bounded: 6 attempts of 5 s would be 30
    finally:
        stop.set()
        server.close()
        thread.join(timeout=5)
    assert "c-1" not in str(caught.value)


def test_an_ack_larger_than_the_limit_is_cut_off(listener):
    from fama_adapters.hl7v2.mllp import MAX_ACK_BYTES

    server = listener(lambda cid: b"\x0b" + b"x" * (MAX_ACK_BYTES + 70_000))
    with client(server.port, retries=0) as c, pytest.raises(TransportError, match="larger"):
        c.send(MESSAGE)


@given(st.text(max_size=300), st.text(max_size=40), st.text(max_size=40))
def test_an_ack_reason_is_always_one_bounded_printable_line(text, code, where):
    from fama_adapters.hl7v2.mllp import ack_reason

    msg = er7.parse(
        er7.encode(
            [
                ("MSH", ("RECV", "", "FAMA", "", "20260309170001+0000", "", ("ACK",), "a-1")),
                ("MSA", ("AE", "ctl-1", text)),
                ("ERR", ("", (where, "1"), (code, text), "E")),
            ]
        )
    )
    reason = ack_reason(msg)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in reason)
    assert len(reason) < 2 * 130 + 80
    if text.strip() and len(text) < 100 and text.isprintable() and '"' not in text:
        assert f'"{" ".join(text.split())}"' in reason


# ------------------------------------------------- red team (2026-11-30)

HOSTILE_ID = "Jane Smith \x1b]0;pwned\x07"
"""An MSH-10 that is no id: a name, and a terminal escape that retitles the window."""


def _hostile_message() -> str:
    return MESSAGE.replace("|ctl-1|", "|" + er7.escape(HOSTILE_ID) + "|")


def test_a_transport_error_never_repeats_a_control_id_that_is_no_id():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused at once
        with pytest.raises(TransportError) as caught, client(port, retries=0) as c:
            c.send(_hostile_message())
    assert "Jane" not in str(caught.value) and "\x1b" not in str(caught.value)
    assert "(not an id)" in str(caught.value)


def test_a_rejection_never_repeats_a_control_id_that_is_no_id(listener):
    server = listener(lambda cid: ack("AE", cid))
    with pytest.raises(AckRejected) as caught, client(server.port) as c:
        c.send(_hostile_message())
    assert caught.value.control_id == HOSTILE_ID  # kept for the program that sent it
    assert "Jane" not in str(caught.value) and "\x1b" not in str(caught.value)


def _raw_listener(received: list[bytes]) -> tuple[socket.socket, threading.Thread]:
    """Accepts one frame, keeps its bytes as they came, and answers AA."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\x1c\r" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            body = data.partition(b"\x1c\r")[0].lstrip(b"\x0b")
            received.append(body)
            control = body.split(b"\r")[0].split(b"|")[9].decode("ascii")
            conn.sendall(ack("AA", control))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_latin_1_message_is_sent_as_the_latin_1_bytes_it_declares():
    # Red team: frame() always encoded UTF-8, so "café" under MSH-18 8859/1 reached the
    # receiver, which reads the bytes by MSH-18, as "cafÃ©".
    latin = (
        MESSAGE.replace("|P|2.5", "|P|2.5||||||8859/1") + "\rNTE|1||caf\u00e9"
    )  # MSH-18 is the 18th field
    assert er7.parse(latin).msh.get(18) == "8859/1"
    received: list[bytes] = []
    server, thread = _raw_listener(received)
    try:
        with client(server.getsockname()[1]) as c:
            assert c.send(latin).accepted
    finally:
        thread.join(timeout=10)
        server.close()
    assert received == [latin.encode("latin-1")]


def test_a_latin_1_message_with_a_character_outside_latin_1_is_not_sent():
    latin = MESSAGE.replace("|P|2.5", "|P|2.5||||||8859/1") + "\rNTE|1||\u20ac"
    with pytest.raises(MappingError, match="MSH-18"):
        frame(latin)


@given(
    charset=st.sampled_from(
        ["", "8859/1", "8859/15", " 8859/1 ", "8859/1\u00a0", "8859/1^x", "UNICODE UTF-8", "ASCII"]
    ),
    text=st.text(st.characters(codec="latin-1", exclude_characters="\x0b\x1c\r\n|^~\\&"))
    | st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x0b\x1c\r\n|^~\\&")),
)
def test_what_frame_sends_reads_back_as_the_same_message(charset, text):
    # Review: frame() and decode_message() read MSH-18 once each (str and bytes copies of one
    # rule); now one function. Whatever is sent reads back, by its own MSH-18, as the message.
    from fama_adapters.hl7v2.adapter import decode_message

    message = MESSAGE.replace("|P|2.5", "|P|2.5||||||" + charset) + "\rNTE|1||" + text
    try:
        framed = frame(message)
    except MappingError:
        assert er7.declared_codec(message) == "latin-1" and not text.isascii()
        return
    assert decode_message(framed[1:-2]) == message
