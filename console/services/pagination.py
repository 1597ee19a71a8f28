"""Opaque keyset cursors: the sort key of the last row of a page, never an offset."""

from __future__ import annotations

import base64
import json

from console.services.errors import InvalidInput

MAX_LIMIT = 500


def encode(*key) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, parts: int) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != parts:
        raise InvalidInput("cursor", "format", "not a cursor returned by a previous page")
    return key


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", "range", f"from 1 to {MAX_LIMIT}")
    return limit
