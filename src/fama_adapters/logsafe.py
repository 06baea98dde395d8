"""Keep secrets in URLs out of log records, whoever writes them.

httpx logs every request at INFO as ``HTTP Request: GET <url> …`` with the whole
URL, password and ``?token=`` included; a host that turns logging on for
debugging would store them. :class:`SecretUrlFilter` rewrites each record it
sees: the password of any ``scheme://user:password@`` becomes ``***``, and so
does the value of every query parameter whose name looks secret (token, key,
password, secret, signature, auth, code, session …). :func:`install` puts it on
the loggers that can carry URLs (``httpx`` and fama's own).
"""

from __future__ import annotations

import logging
import re

__all__ = ["SECRET_PARAMETER", "SecretUrlFilter", "install", "mask_secrets"]

SECRET_PARAMETER = re.compile(
    r"(pass|pwd|secret|token|key|sig|auth|code|session|credential|bearer|jwt)", re.I
)
"""A query parameter whose name matches this is taken to hold a secret."""

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&#\s]+)=(?P<value>[^&#\s]*)")

LOGGERS = ("httpx", "fama", "fama.fhir", "fama.meetings", "fama.hl7v2")


def mask_secrets(text: str) -> str:
    """``text`` with URL passwords and secret-looking query values replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)

    def query(m: re.Match[str]) -> str:
        if SECRET_PARAMETER.search(m["name"]):
            return f"{m['sep']}{m['name']}=***"
        return m.group(0)

    return _QUERY_PARAM.sub(query, text)


class SecretUrlFilter(logging.Filter):
    """Rewrites a record's message with :func:`mask_secrets`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
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
