"""JSON read from a user's file or text: every way it can fail is one clear ``UserError``.

A path that is a directory or unreadable, a file over the stated size, text that is not JSON or
not UTF-8, and JSON nested too deeply for Python's decoder (it raises ``RecursionError``, which
no ``ValueError`` handler catches) are refused with the input named, never a traceback.
"""

from __future__ import annotations

import json
import os
from typing import Any

from constructive.errors import UserError


def read_json_file(path: str, what: str, max_bytes: int) -> Any:
    """The JSON value in the file ``path`` (``what`` names it in errors), refused above
    ``max_bytes`` before it is read."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise UserError(f"{what} {path!r} has {size} bytes; at most {max_bytes} are read")
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise UserError(f"{what} {path!r} does not exist") from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path!r}: {exc.strerror}") from None
    return parse_json(data, f"{what} {path!r}")


def parse_json(data: bytes | str, what: str) -> Any:
    """The JSON value of ``data``; ``what`` names it in errors."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise UserError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise UserError(f"{what} is nested too deeply to be read") from None
