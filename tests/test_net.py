"""fama_adapters.net against hostile servers on loopback: deadline, size, redirects, masking."""

from __future__ import annotations

import argparse
import math
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters import net
from fama_adapters.net_testing import Answer, Drip, Huge, LoopbackHttpServer, Redirect

FAST = net.Limits(deadline=1.5, max_bytes=1 << 20)


# ------------------------------------------------------------------ the deadline


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_server_dripping_a_byte_at_a_time_is_cut_off_at_the_deadline(headers_too: bool) -> None:
    # Every byte arrives well inside any per-read timeout, so only an overall deadline ends it.
    with LoopbackHttpServer({"/feed": Drip(interval=0.05, headers_too=headers_too)}) as server:
        started = time.monotonic()
        with pytest.raises(net.DeadlineExceeded) as caught:
            net.request("GET", server.url + "/feed", limits=FAST)
        # A bounded wait, not a timing assertion: the 100 kB drip would take over an hour.
        assert time.monotonic() - started < 60
    assert "1.5 s" in str(caught.value)


def test_the_deadline_holds_with_a_callers_own_client_too() -> None:
    with (
        LoopbackHttpServer({"/feed": Drip(interval=0.05)}) as server,
        httpx.Client(timeout=30) as own,
    ):
        started = time.monotonic()
        with pytest.raises(net.DeadlineExceeded):
            net.request("GET", server.url + "/feed", client=own, limits=FAST)
        assert time.monotonic() - started < 60


def test_a_server_that_never_answers_ends_at_the_deadline() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the connection in the kernel, never answers
        port = sock.getsockname()[1]
        with pytest.raises(net.DeadlineExceeded):
            net.request("GET", f"http://127.0.0.1:{port}/x", limits=net.Limits(deadline=0.5))


def test_a_refused_connection_is_a_connection_failure() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(net.ConnectionFailed) as caught:
            net.request("GET", f"http://127.0.0.1:{port}/x", limits=FAST)
    assert isinstance(caught.value, net.NetError)


# -------------------------------------------------------------------- body size


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "streamed"])
def test_a_body_over_the_limit_is_refused_without_reading_it_whole(declare: bool) -> None:
    size = 50 * 1024 * 1024
    with LoopbackHttpServer({"/big": Huge(size, declare_length=declare)}) as server:
        with pytest.raises(net.ResponseTooLarge) as caught:
            net.request("GET", server.url + "/big", limits=net.Limits(max_bytes=1 << 20))
    assert str(1 << 20) in str(caught.value)


def test_a_body_at_the_limit_is_read() -> None:
    with LoopbackHttpServer({"/ok": Huge(1 << 20, declare_length=False)}) as server:
        response = net.request("GET", server.url + "/ok", limits=net.Limits(max_bytes=1 << 20))
    assert len(response.content) == 1 << 20


# -------------------------------------------------------------------- redirects


def test_a_redirect_on_the_same_origin_is_followed() -> None:
    with LoopbackHttpServer() as server:
        server.routes["/old"] = Redirect(server.url + "/new", 301)
        server.routes["/new"] = Answer(200, b"[]")
        response = net.request("GET", server.url + "/old", limits=FAST)
    assert response.status_code == 200 and response.content == b"[]"
    assert response.url.endswith("/new")


def test_a_relative_redirect_is_resolved_against_the_url() -> None:
    with LoopbackHttpServer({"/a/b": Redirect("../c"), "/c": Answer(200, b"ok")}) as server:
        assert net.request("GET", server.url + "/a/b", limits=FAST).content == b"ok"


def test_a_redirect_to_another_host_is_refused_and_never_requested() -> None:
    with LoopbackHttpServer({"/ok": Answer(200, b"secret")}) as other:
        elsewhere = other.url.replace("127.0.0.1", "localhost") + "/ok?token=abc"
        with LoopbackHttpServer({"/feed": Redirect(elsewhere)}) as server:
            with pytest.raises(net.RedirectRefused) as caught:
                net.request("GET", server.url + "/feed", limits=FAST)
        assert other.requests == []
    assert "another origin" in str(caught.value)
    assert "abc" not in str(caught.value)


def test_a_redirect_to_another_port_is_another_origin() -> None:
    with LoopbackHttpServer({"/ok": Answer(200, b"x")}) as other:
        with LoopbackHttpServer({"/feed": Redirect(other.url + "/ok")}) as server:
            with pytest.raises(net.RedirectRefused):
                net.request("GET", server.url + "/feed", limits=FAST)
            allowed = net.Limits(deadline=5, cross_origin_redirects=True)
            assert net.request("GET", server.url + "/feed", limits=allowed).content == b"x"


def test_a_redirect_loop_ends_after_max_redirects() -> None:
    with LoopbackHttpServer({"/loop": Redirect("/loop", 307)}) as server:
        with pytest.raises(net.RedirectRefused) as caught:
            net.request("GET", server.url + "/loop", limits=net.Limits(max_redirects=3))
        assert len(server.requests) == 4
    assert "more than 3 redirects" in str(caught.value)


def test_a_post_follows_only_redirects_that_keep_its_body() -> None:
    with LoopbackHttpServer() as server:
        server.routes["/303"] = Redirect("/done", 303)
        server.routes["/308"] = Redirect("/done", 308)
        server.routes["/done"] = Answer(200, b"{}")
        with pytest.raises(net.RedirectRefused):
            net.request("POST", server.url + "/303", content=b"body", limits=FAST)
        net.request("POST", server.url + "/308", content=b"body", limits=FAST)
        assert server.requests[-1] == ("POST", "/done", b"body")


def test_a_redirect_without_location_is_refused() -> None:
    with LoopbackHttpServer({"/x": Answer(302, b"")}) as server:
        with pytest.raises(net.RedirectRefused):
            net.request("GET", server.url + "/x", limits=FAST)


# ------------------------------------------------------------------- validation


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "1e9", "soon", ""])
def test_timeouts_that_are_no_deadline_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        net.check_timeout(value)
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        net.timeout_arg(value)
    assert str(caught.value).startswith("seconds: give a number of seconds")


def test_a_positive_timeout_is_accepted() -> None:
    assert net.check_timeout("2.5") == 2.5
    assert net.timeout_arg("30") == 30.0


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://host:99999/",
        "http://host:port/",
        "ftp://host/",
        "host/fhir",
        "http:///path",
        "http://exa mple/",
        "http://host/\nInjected: 1",
        "",
    ],
)
def test_urls_fama_cannot_use_are_a_clear_error_without_the_url(url: str) -> None:
    with pytest.raises(net.InvalidUrl) as caught:
        net.check_url(url, what="--base")
    assert str(caught.value).startswith("--base: ")
    if url:
        assert url not in str(caught.value)
    with pytest.raises(argparse.ArgumentTypeError):
        net.url_arg(url)


def test_good_urls_pass() -> None:
    for url in ("http://[::1]:8080/fhir", "https://fhir.example.nhs.uk/R4", "HTTP://h/x?a=1"):
        assert net.check_url(url) == url


# ---------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://ann:pw@h.example/f", "https://ann:***@h.example/f"),
        ("https://tok123@h.example/f", "https://***@h.example/f"),
        ("https://h.example/f?token=abc&day=1", "https://h.example/f?token=***&day=1"),
        ("https://h.example/f?api_key=abc", "https://h.example/f?api_key=***"),
        ("https://h.example/f?X-Amz-Signature=abc", "https://h.example/f?X-Amz-Signature=***"),
        ("https://h.example/f#access_token=abc", "https://h.example/f#access_token=***"),
        (
            "postgresql://fama:pw@db/fama?sslpassword=x&sslmode=require",
            "postgresql://fama:***@db/fama?sslpassword=***&sslmode=require",
        ),
        ("host=db user=fama password=pw dbname=x", "host=db user=fama password=*** dbname=x"),
        ("host=db password='p w' dbname=x", "host=db password=*** dbname=x"),
        ("http://u:pw@[::1", "http://u:***@[::1"),
        ("postgresql://fama@db/fama", "postgresql://fama@db/fama"),
        ("sqlite:///out/f.db", "sqlite:///out/f.db"),
        ("memory://", "memory://"),
        ("https://h/p#frag?x", "https://h/p#frag?x"),
        ("http://h.example/a b", "http://h.example/a%20b"),
    ],
)
def test_mask_url_hides_secrets(url: str, masked: str) -> None:
    assert net.mask_url(url) == masked


_SECRET = st.text(st.characters(codec="utf-8", exclude_characters="&#=/@?:%[]"), min_size=4)


@given(
    # The marker keeps a secret such as "http" from matching the URL's own text.
    secret=_SECRET.filter(lambda s: s.strip() == s and s.isprintable()).map(lambda s: "Zq9" + s),
    name=st.sampled_from(["password", "token", "apiKey", "secret", "sig", "auth", "access_token"]),
    user=st.from_regex(r"[a-z]{1,8}", fullmatch=True),
)
def test_mask_url_never_shows_a_secret(secret: str, name: str, user: str) -> None:
    from urllib.parse import quote

    for url in (
        f"https://{user}:{quote(secret)}@h.example/x",
        f"https://h.example/x?{name}={quote(secret)}&a=1",
        f"https://{user}:{secret}@h.example/x?{name}={secret}",
    ):
        shown = net.mask_url(url)
        assert quote(secret) not in shown
        assert secret not in shown


@given(st.text())
def test_mask_url_never_fails_and_prints_no_controls(url: str) -> None:
    shown = net.mask_url(url)
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in shown)


def test_a_network_error_names_the_masked_url_only() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(net.ConnectionFailed) as caught:
            net.request("GET", f"http://ann:hunter2@127.0.0.1:{port}/x?token=t0k", limits=FAST)
    assert "hunter2" not in str(caught.value) and "t0k" not in str(caught.value)
    assert "ann:***@" in str(caught.value)


def test_limits_refuse_a_deadline_that_is_none() -> None:
    with pytest.raises(ValueError):
        net.Limits(deadline=math.nan)
    with pytest.raises(ValueError):
        net.Limits(max_bytes=0)


def test_store_urls_are_masked_query_passwords_too() -> None:
    """Issue 11 item 7: `?password=` in a PostgreSQL URL appeared in output and errors."""
    from fama_adapters.store import redact_url

    assert redact_url("postgresql://db/fama?user=fama&password=s3cret") == (
        "postgresql://db/fama?user=fama&password=***"
    )
    assert redact_url("postgresql://fama:s3cret@db/fama") == "postgresql://fama:***@db/fama"


@given(st.text(max_size=60))
def test_check_url_accepts_or_says_why_never_anything_else(url: str) -> None:
    reasons = {
        "give an http:// or https:// URL",
        "a URL may not contain spaces or control characters",
        "not a valid URL (check the host, its brackets and the port)",
        "only http:// and https:// URLs are supported",
        "the URL has no host",
        "port 0 is not a port a server listens on",
    }
    try:
        assert net.check_url(url) == url
    except net.InvalidUrl as exc:
        assert exc.reason in reasons and str(exc) == f"URL: {exc.reason}"  # never the URL


@given(
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.integers(1, 65535),
    st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=20),
)
def test_every_url_check_url_accepts_is_one_request_can_start(
    host: str, port: int, path: str
) -> None:
    from urllib.parse import quote

    url = f"http://{host}:{port}/{quote(path)}"
    assert net.check_url(url) == url


# ------------------------------------------------------------------------- https


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command for this run."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_https_answers_are_read_through_the_deadline_transport(tls) -> None:
    server_ctx, client_ctx = tls
    with LoopbackHttpServer({"/ok": Answer(200, b"[]")}, tls=server_ctx) as server:
        assert server.url.startswith("https://")
        with net.http_client(verify=client_ctx) as client:
            assert net.request("GET", server.url + "/ok", client=client).content == b"[]"


def test_an_https_server_dripping_its_headers_is_cut_off_at_the_deadline(tls) -> None:
    server_ctx, client_ctx = tls
    with LoopbackHttpServer({"/d": Drip(interval=0.05, headers_too=True)}, tls=server_ctx) as s:
        with net.http_client(verify=client_ctx) as client, pytest.raises(net.DeadlineExceeded):
            net.request("GET", s.url + "/d", client=client, limits=net.Limits(deadline=1.0))


def test_a_redirect_from_https_to_http_is_refused_even_across_origins_allowed(tls) -> None:
    server_ctx, client_ctx = tls
    with LoopbackHttpServer({"/ok": Answer(200, b"x")}) as plain:
        with LoopbackHttpServer({"/r": Redirect(plain.url + "/ok")}, tls=server_ctx) as secure:
            allowed = net.Limits(cross_origin_redirects=True)
            with net.http_client(verify=client_ctx) as client:
                with pytest.raises(net.RedirectRefused, match="https to http"):
                    net.request("GET", secure.url + "/r", client=client, limits=allowed)
        assert plain.requests == []


def test_an_untrusted_certificate_is_a_connection_failure(tls) -> None:
    server_ctx, _client_ctx = tls
    with LoopbackHttpServer({"/ok": Answer(200, b"x")}, tls=server_ctx) as server:
        with pytest.raises(net.ConnectionFailed) as caught:
            net.request("GET", server.url + "/ok")
    assert caught.value.cause == "ConnectError"


def test_the_http_libraries_logs_carry_no_secret_even_at_debug(caplog) -> None:
    """httpx logs each URL at INFO and httpcore each response header at DEBUG."""
    import logging

    caplog.set_level(logging.DEBUG)
    cookie = {"Set-Cookie": "session=c00kie-s3cret; HttpOnly"}
    with LoopbackHttpServer() as server:
        server.routes["/a?token=t0k-s3cret"] = Redirect("/b?sig=s1g-s3cret", 307)
        server.routes["/b?sig=s1g-s3cret"] = Answer(200, b"[]", cookie)
        url = server.url.replace("//", "//ann:pw-s3cret@") + "/a?token=t0k-s3cret"
        assert net.request("GET", url).content == b"[]"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged and "token=***" in logged  # it was logged, masked
    assert "s3cret" not in logged


# ------------------------------------------------------------ content codings


def _gzip_of_zeros(size: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzipped twice: about 1 kB on the wire."""
    import gzip

    return gzip.compress(_gzip_of_zeros(256 << 20), 9)


def _peak_while(call: object) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(net.ResponseTooLarge):
            call()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_doubly_gzipped_bomb_is_refused_without_being_inflated(gzip_bomb: bytes) -> None:
    # httpx inflates each chunk whole: before the fix this took the full 256 MiB (and a
    # slightly bigger bomb, all the memory there is) before the 1 MiB limit was looked at.
    assert len(gzip_bomb) < 4096
    route = {"/feed": Answer(body=gzip_bomb, headers={"Content-Encoding": "gzip, gzip"})}
    with LoopbackHttpServer(route) as server:
        peak = _peak_while(lambda: net.request("GET", server.url + "/feed", limits=FAST))
    assert peak < 16 << 20


def test_a_gzipped_body_over_the_limit_is_refused_in_bounded_memory() -> None:
    route = {"/feed": Answer(body=_gzip_of_zeros(64 << 20), headers={"Content-Encoding": "gzip"})}
    with LoopbackHttpServer(route) as server:
        peak = _peak_while(lambda: net.request("GET", server.url + "/feed", limits=FAST))
    assert peak < 16 << 20


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "deflate-raw", "gzip, gzip"])
@given(body=st.binary(max_size=3000))
def test_gzip_and_deflate_bodies_read_back_exactly(coding: str, body: bytes) -> None:
    import gzip
    import zlib

    def raw_deflate(data: bytes) -> bytes:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return packer.compress(data) + packer.flush()

    encode = {
        "gzip": gzip.compress,
        "x-gzip": gzip.compress,
        "deflate": zlib.compress,
        "deflate-raw": raw_deflate,
        "gzip, gzip": lambda data: gzip.compress(gzip.compress(data)),
    }[coding]
    header = "deflate" if coding == "deflate-raw" else coding
    with httpx.Client(transport=_Streamed(encode(body), header)) as client:
        assert net.request("GET", "http://f.example/", client=client, limits=FAST).content == body


class _Streamed(httpx.BaseTransport):
    """Answers every request with ``wire``, not yet read (so fama decodes it, as from a socket)."""

    def __init__(self, wire: bytes, coding: str) -> None:
        self.wire, self.coding = wire, coding

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(self.wire)
        return httpx.Response(200, headers={"Content-Encoding": self.coding}, stream=stream)


@pytest.mark.parametrize(
    ("header", "body", "says"),
    [
        ("br", b"\x1b\x00", "content coding"),
        ("gzip, gzip, gzip", b"", "more than 2 times"),
        ("gzip", b"this is not gzip", "broken"),
    ],
)
def test_a_coding_fama_cannot_read_is_a_net_error_not_a_crash(
    header: str, body: bytes, says: str
) -> None:
    with LoopbackHttpServer({"/f": Answer(body=body, headers={"Content-Encoding": header})}) as s:
        with pytest.raises(net.NetError) as caught:
            net.request("GET", s.url + "/f", limits=FAST)
    assert says in str(caught.value)
    assert header not in str(caught.value).split(": ", 1)[1] or header == "gzip"


def test_fama_asks_only_for_the_codings_it_decodes() -> None:
    seen: list[str] = []

    def answer(req: httpx.Request) -> httpx.Response:
        seen.append(req.headers.get("Accept-Encoding", ""))
        return httpx.Response(200, content=b"{}")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        net.request("GET", "http://feeds.example/f", client=client, limits=FAST)
    assert seen == ["gzip, deflate"]


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
        "javascript:1",
    ],
)
def test_a_redirect_to_another_scheme_is_refused(location: str) -> None:
    # Red team: "javascript:1" raised httpx.InvalidURL (not an HTTPError)
    # out of request(), since httpx parses a Location even when not following it; the
    # other schemes held.
    with LoopbackHttpServer({"/feed": Redirect(location)}) as server:
        with pytest.raises(net.RedirectRefused) as caught:
            net.request("GET", server.url + "/feed", limits=FAST)
    assert "passwd" not in str(caught.value)  # the target is not repeated


@pytest.mark.parametrize("host", ["xn--zz.invalid", "xn--a-ecp.invalid"])
def test_a_redirect_to_a_host_of_invalid_idna_is_refused_not_a_crash(host: str) -> None:
    # Red team: idna's IDNAError (a UnicodeError, not an httpx error) escaped request().
    with LoopbackHttpServer({"/feed": Redirect(f"http://{host}/")}) as server:
        with pytest.raises(net.RedirectRefused):
            net.request("GET", server.url + "/feed", limits=FAST)


def test_a_url_of_invalid_idna_is_a_net_error_not_a_crash() -> None:
    with pytest.raises(net.NetError):
        net.request("GET", "http://xn--zz.invalid/x", limits=FAST)


# ------------------------------------------- headers that describe the body handed on


def _chunked(data: bytes, size: int = 7) -> bytes:
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def _coded(coding: str, body: bytes) -> bytes:
    import gzip
    import zlib

    return {
        "gzip": gzip.compress,
        "x-gzip": gzip.compress,
        "deflate": zlib.compress,
        "gzip, gzip": lambda data: gzip.compress(gzip.compress(data)),
        "identity": lambda data: data,
    }[coding](body)


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "gzip, gzip", "identity"])
def test_the_headers_handed_on_describe_the_body_handed_on(coding: str, chunked: bool) -> None:
    """Regression: after inflating, the headers still said gzip and counted the wire's bytes."""
    body = b'{"meetings": [' + b'{"name": "Tuesday group"},' * 200 + b"{}]}"
    wire = _coded(coding, body)
    headers = {"Content-Encoding": coding, "Content-Type": "application/json", "X-Kept": "1"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        wire = _chunked(wire)
    with LoopbackHttpServer({"/f": Answer(body=wire, headers=headers)}) as server:
        got = net.request("GET", server.url + "/f", limits=FAST)
    assert got.content == body
    assert "Content-Encoding" not in got.headers and "Transfer-Encoding" not in got.headers
    assert got.headers.get_list("Content-Length") == [str(len(body))]
    assert got.headers["Content-Type"] == "application/json" and got.headers["X-Kept"] == "1"


def test_an_answer_without_codings_keeps_its_headers_as_sent() -> None:
    body = b"plain"
    with LoopbackHttpServer({"/f": Answer(body=body, headers={"X-Kept": "1"})}) as server:
        got = net.request("GET", server.url + "/f", limits=FAST)
    assert got.content == body and got.headers["Content-Length"] == "5"
    assert got.headers["X-Kept"] == "1" and "Content-Encoding" not in got.headers


def test_a_head_answer_drops_a_length_of_coded_bytes() -> None:
    import gzip

    coded = gzip.compress(b"x" * 5000)
    head = {"Content-Encoding": "gzip", "Content-Length": str(len(coded))}
    with LoopbackHttpServer({"/f": Answer(body=b"", headers=head)}) as server:
        got = net.request("HEAD", server.url + "/f", limits=FAST)
    assert got.content == b""
    assert "Content-Encoding" not in got.headers and "Content-Length" not in got.headers


@given(body=st.binary(max_size=2000))
def test_headers_describe_the_body_through_a_callers_transport_too(body: bytes) -> None:
    """httpx inflates a body its transport read itself; the headers must follow it there too."""
    import gzip

    def answer(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(body)
        )

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        got = net.request("GET", "http://f.example/", client=client, limits=FAST)
    assert got.content == body
    assert "Content-Encoding" not in got.headers
    assert got.headers["Content-Length"] == str(len(body))
