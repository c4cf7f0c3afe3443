"""Bearer tokens: kept as SHA-256 digests only, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


class Tokens:
    """The accepted tokens' digests. Every digest is compared on every request (no early exit),
    so the time taken says nothing about which token, or which prefix, came close."""

    def __init__(self, tokens: Iterable[str]):
        self._digests = tuple(hashlib.sha256(t.encode()).digest() for t in tokens)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value is `Bearer <an accepted token>`."""
        scheme, _, given = (authorization or "").partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            return False
        digest = hashlib.sha256(given.encode()).digest()
        found = False
        for accepted in self._digests:
            found |= hmac.compare_digest(accepted, digest)
        return found
