"""A small accessibility checker over serialised HTML (stdlib parser, no dependencies).

Checks what a printable hand-out needs: a language, a title, one h1 and no skipped
heading levels, every table captioned with scoped header cells, every form field
labelled, every image described.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    lang: str | None = None
    title: str = ""
    headings: list[tuple[int, str]] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    images: list[dict] = field(default_factory=list)
    text: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self._stack: list[str] = []
        self._heading: int | None = None
        self._buf: list[str] = []
        self._in_title = False
        self._in_label = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.page.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading, self._buf = int(tag[1]), []
        elif tag == "table":
            self.page.tables.append({"caption": False, "th": [], "rows": 0})
        elif tag == "caption" and self.page.tables:
            self.page.tables[-1]["caption"] = True
        elif tag == "th" and self.page.tables:
            self.page.tables[-1]["th"].append(a.get("scope"))
        elif tag == "tr" and self.page.tables:
            self.page.tables[-1]["rows"] += 1
        elif tag in ("input", "textarea", "select"):
            self.page.inputs.append({**a, "_inside_label": self._in_label})
        elif tag == "label":
            self._in_label = True
            if a.get("for"):
                self.page.label_for.add(a["for"])
        elif tag == "img":
            self.page.images.append(a)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "label":
            self._in_label = False
        elif self._heading is not None and tag == f"h{self._heading}":
            self.page.headings.append((self._heading, "".join(self._buf).strip()))
            self._heading = None

    def handle_data(self, data):
        self.page.text += data
        if self._in_title:
            self.page.title += data
        if self._heading is not None:
            self._buf.append(data)


def parse(html: str) -> Page:
    p = _Parser()
    p.feed(html)
    return p.page


def problems(html: str) -> list[str]:
    page = parse(html)
    out = []
    if not page.lang:
        out.append("html has no lang")
    if not page.title.strip():
        out.append("no title")
    levels = [level for level, _ in page.headings]
    if levels.count(1) != 1:
        out.append("not exactly one h1")
    for before, after in zip(levels, levels[1:], strict=False):
        if after > before + 1:
            out.append(f"heading level skips from h{before} to h{after}")
    for n, table in enumerate(page.tables):
        if not table["caption"]:
            out.append(f"table {n} has no caption")
        if not table["th"] or any(s not in ("col", "row") for s in table["th"]):
            out.append(f"table {n} has header cells without scope")
    for field_ in page.inputs:
        labelled = (
            field_.get("aria-label")
            or field_.get("aria-labelledby")
            or field_.get("id") in page.label_for
            or field_["_inside_label"]
        )
        if not labelled:
            out.append(f"unlabelled field {field_}")
    for img in page.images:
        if img.get("alt") is None:
            out.append(f"image without alt {img.get('src')}")
    return out
