"""Keep passwords out of logs, metadata and error messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

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


MASK = b"***"


def secret_forms(secrets: Iterable[str]) -> tuple[bytes, ...]:
    """Each secret as it can appear in a line of a file, as UTF-8, longest first: itself,
    URL-encoded (in a DSN or a query string) and JSON-escaped (inside a JSON string)."""
    forms = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update((secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
                      json.dumps(secret, ensure_ascii=False)[1:-1]))
    return tuple(sorted((f.encode() for f in forms if f), key=lambda f: (-len(f), f)))


def mask_secrets(data: bytes, forms: Sequence[bytes], *, partial: int | None = None) -> tuple[bytes, bool]:
    """`data` with every occurrence of each form replaced by `***`, and whether there was one.
    With `partial`, also the start of a form (at least `partial` bytes) where a text was cut short
    right after it: an excerpt of a value that ends inside a secret (`"<first 40 bytes>"`)."""
    found = False
    for form in forms:
        if form in data:
            data, found = data.replace(form, MASK), True
    if partial:
        for form in forms:
            if len(form) <= partial:
                continue
            start = data.find(form[:partial])
            while start >= 0:
                end = start + partial
                while end < len(data) and end - start < len(form) and data[end] == form[end - start]:
                    end += 1
                if end == len(data) or data[end:end + 1] in (b'"', b"'"):
                    data, found = data[:start] + MASK + data[end:], True
                    end = start + len(MASK)
                start = data.find(form[:partial], end)
    return data, found
