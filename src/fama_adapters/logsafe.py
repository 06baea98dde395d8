"""Keep secrets in URLs out of log records, whoever writes them.

httpx logs every request at INFO as ``HTTP Request: GET <url> …`` with the whole
URL, password and ``?token=`` included; a host that turns logging on for
debugging would store them. :class:`SecretUrlFilter` rewrites each record it
sees with every URL in it masked by :func:`fama_adapters.net.mask_url` (the one
policy for secrets in URLs: user info, and query parameters whose name looks
secret). :func:`install` puts it on the loggers that can carry URLs (``httpx``
and fama's own).
"""

from __future__ import annotations

import logging
import re

from fama_adapters.net import mask_url

__all__ = ["SecretUrlFilter", "install", "mask_secrets"]

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"<>]+")

LOGGERS = ("httpx", "fama", "fama.fhir", "fama.meetings", "fama.hl7v2", "fama.net")


def mask_secrets(text: str) -> str:
    """``text`` with every URL in it passed through :func:`fama_adapters.net.mask_url`.

    A URL runs to the next space, double quote or angle bracket; what a log line
    puts after it (``')`` of a repr) is masked with it when it looks like part of
    a secret, which costs nothing but a character of log text.
    """
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


class SecretUrlFilter(logging.Filter):
    """Rewrites a record's message with :func:`mask_secrets`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's message in place; always ``True`` (the record is kept)."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report, not ours
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_FILTER = SecretUrlFilter()


def install() -> None:
    """Add the filter to the loggers that can carry URLs (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
