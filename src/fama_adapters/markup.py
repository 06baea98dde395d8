"""HTML that escapes by default: the one way fama's pages (report, client pack) are built.

Every piece of markup is a ``markupsafe.Markup`` (as Jinja2 uses):
markup written in fama's own code is a template, and whatever fills it is
escaped unless it is itself ``Markup``. So a meeting name, a note, an
organisation name from a feed or a partnership's answer cannot open a tag or
break out of an attribute, whichever helper forgets what::

    >>> html('<td title="{}">{}</td>', 'a" onmouseover="x', "<script>")
    Markup('<td title="a&#34; onmouseover=&#34;x">&lt;script&gt;</td>')

Links are made only by :func:`link`, and only to absolute ``http`` or
``https`` addresses; anything else (``javascript:``, ``data:``, a relative
path, an address with spaces or control characters) is shown as text.
``tests/test_markup.py`` checks that the page modules build no markup any
other way (no f-string, no ``%``, no ``str.format``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markupsafe import Markup, escape

__all__ = ["PAGE_POLICY", "html", "join", "link", "policy_meta", "safe_url"]


PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
"""The Content-Security-Policy of every page fama makes: nothing loads, nothing runs.

fama's pages need only their inline ``<style>``. Should escaping ever fail, an
injected script, image, style sheet or frame still fetches nothing, neither in a
browser nor when Chromium prints a pack to PDF (which would otherwise tell a
third party that, and when, a client's pack was printed).
"""


def policy_meta() -> Markup:
    """The ``<meta http-equiv="Content-Security-Policy">`` element that puts :data:`PAGE_POLICY`
    in a page's ``<head>`` (it holds for a saved file, too, where no header is sent)."""
    return html('<meta http-equiv="Content-Security-Policy" content="{}">', PAGE_POLICY)


def html(template: str, /, *args: object) -> Markup:
    """``template`` (markup written in fama's code) with each ``{}`` filled by an escaped argument.

    Format specifications work as in :meth:`str.format` (``{:.0f}``); an
    argument that is already ``Markup`` is inserted as it is.
    """
    return Markup(template).format(*args)


def join(separator: str, parts: object) -> Markup:
    """The parts, each escaped unless it is ``Markup``, between ``separator`` (markup)."""
    return Markup(separator).join(parts)  # type: ignore[arg-type]


def safe_url(url: object) -> str | None:
    """``url`` when it is an absolute http or https address, else ``None``.

    Refused: other schemes (``javascript:``, ``data:``, ``vbscript:``,
    ``file:``), relative or scheme-relative addresses, and any address holding
    whitespace or control characters (which browsers strip, so that
    ``java\\nscript:`` would run).
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def link(url: object, text: object = None) -> Markup:
    """``<a href>`` to ``url`` when it is http or https; otherwise ``text`` (or the URL) as text."""
    label = url if text is None else text
    target = safe_url(url)
    if target is None:
        return escape("" if label is None else str(label))
    return html('<a href="{}" rel="noopener noreferrer">{}</a>', target, str(label))
