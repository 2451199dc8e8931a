"""The one check of a ``--device`` option, shared by ``certify run --engine torch`` and the codec.

Why here: torch reports a missing CUDA build as an ``AssertionError`` deep inside the first
tensor move, after the work has started; this turns it into a ``UserError`` before any work.
"""

from __future__ import annotations

from constructive.errors import UserError

SUPPORTED = "cpu, cuda or cuda:N"


def check_device(name: str) -> str:
    """``name`` if it is a torch device usable on this machine, else a one-line ``UserError``."""
    try:
        import torch
    except ImportError:
        raise UserError(f"--device {name!r} needs PyTorch: pip install -e '.[gpu]'") from None
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise UserError(f"--device {name!r} is not a torch device; use {SUPPORTED}") from None
    if device.type == "cpu":
        return name
    if device.type != "cuda":
        raise UserError(f"--device {name!r} is not supported; use {SUPPORTED}")
    if not torch.cuda.is_available():
        raise UserError(f"--device {name!r}: CUDA is not available on this machine; use --device cpu")
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise UserError(f"--device {name!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return name
