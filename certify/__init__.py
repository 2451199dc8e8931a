"""The verifier.  ``from certify import run, table`` is the Python interface (certify.api),
loaded on first use so that ``certify.kernel`` stays importable without the verifier's
dependencies."""

from __future__ import annotations

from typing import Any

__all__ = ["run", "table"]


def __getattr__(name: str) -> Any:
    if name in ("run", "table", "Certificate", "Table"):
        from certify import api

        return getattr(api, name)
    raise AttributeError(f"module 'certify' has no attribute {name!r}")
