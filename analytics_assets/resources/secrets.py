"""Keep passwords out of logs, metadata and error messages."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_url(dsn: str) -> str:
    """A DSN with its password replaced by `***`: URI userinfo, a `password=` query parameter,
    or a libpq `key=value` string."""
    if "://" not in dsn:
        return _KEYWORD_PASSWORD.sub(r"\1***", dsn)
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable DSN>"
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = parts.query
    if "password" in query.lower():
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(query)], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def dsn_password(dsn: str) -> str | None:
    """The password a DSN carries (decoded), for redaction."""
    if "://" not in dsn:
        match = _KEYWORD_PASSWORD.search(dsn)
        return match.group(2).strip("'") if match else None
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return None
    if parts.password is not None:
        return unquote(parts.password)
    return next((v for k, v in parse_qsl(parts.query) if k.lower() == "password"), None)


def redact(text: str, *secrets: str | None) -> str:
    """Replace every occurrence of each non-empty secret (and its URL-encoded form) with `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            encoded = urlencode({"": secret})[1:]
            if encoded != secret:
                text = text.replace(encoded, "***")
    return text
