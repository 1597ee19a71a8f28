"""Opaque keyset cursors: the sort key of the last row of a page, never an offset.

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import and_, or_

from console.services.errors import InvalidInput

MAX_LIMIT = 500
#: Key integers (ids, ranks) fit a 32-bit INTEGER column on every backend.
INT_RANGE = 2**31


def encode(*key) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, types: tuple[type, ...]) -> list:
    """The key a cursor carries; each part must be of its type in ``types``
    (int or str), or the cursor is refused as forged."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        key = None
    if (not isinstance(key, list) or len(key) != len(types)
            or not all(type(k) is t for k, t in zip(key, types))
            or not all(-INT_RANGE <= k < INT_RANGE for k in key if type(k) is int)):
        raise InvalidInput("cursor", "format", "not a cursor returned by a previous page")
    return key


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", "range", f"from 1 to {MAX_LIMIT}")
    return limit


def after(cols: list, values: list):
    """``(c1, c2, …) > (v1, v2, …)`` written so that an index on c1 is used:
    ``c1 >= v1 AND (c1 > v1 OR (c2, …) > (v2, …))``. (SQLite does not use an
    expression index for a row-value comparison: a deep page would scan.)"""
    return _keyset(cols, values, lambda c, v: c > v, lambda c, v: c >= v)


def before(cols: list, values: list):
    """``(c1, c2, …) < (v1, v2, …)``, index-friendly like ``after``."""
    return _keyset(cols, values, lambda c, v: c < v, lambda c, v: c <= v)


def _keyset(cols, values, strict, loose):
    if len(cols) == 1:
        return strict(cols[0], values[0])
    return and_(loose(cols[0], values[0]), or_(strict(cols[0], values[0]), _keyset(cols[1:], values[1:], strict, loose)))
