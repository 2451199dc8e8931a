"""ANS coding of integer symbols with a stored frequency table (``constriction``'s stack coder).

Why a library coder: an entropy coder is easy to get subtly wrong (carry, flush, precision); the
``constriction`` package is maintained, exact and fast (≈ 4·10⁷ symbols/s here).  Why a stored
table of uint16 weights rather than floats: encoder and decoder must build the *same* model, and
both build it from the same stored integers through the same float64 division.  Every symbol of
the range keeps weight ≥ 1 so that any symbol can be coded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from constructive.errors import UserError

if TYPE_CHECKING:
    import numpy as np

CHUNK = 1 << 22
"""Symbols per coder call: bounds the int32 temporaries on huge tensors (stored, so fixed)."""
MAX_SYMBOLS = 1 << 16
"""Alphabet limit: the frequency table is at most 128 KiB."""
FREQ_MAX = 65535


def _constriction() -> Any:
    try:
        import constriction
    except ImportError as exc:
        raise UserError(f"entropy coding needs the package constriction (pip install constriction): {exc}") from None
    return constriction


def weights_of(counts: "np.ndarray") -> "np.ndarray":
    """Symbol counts → uint16 weights proportional to them, every symbol at least 1."""
    import numpy as np

    scaled = np.rint(counts.astype(np.float64) * (FREQ_MAX / float(max(1, counts.max()))))
    return np.clip(scaled, 1, FREQ_MAX).astype(np.uint16)


def model(freq: "np.ndarray") -> Any:
    """The categorical model both sides build from the stored integer weights."""
    import numpy as np

    probabilities = freq.astype(np.float64) / float(freq.astype(np.float64).sum())
    return _constriction().stream.model.Categorical(probabilities, perfect=False)


def ideal_bits(counts: "np.ndarray", freq: "np.ndarray") -> float:
    """Σ −count · log2 p under the model of ``freq``: what the coder spends, to within a few words."""
    import numpy as np

    prob = freq.astype(np.float64) / float(freq.astype(np.float64).sum())
    used = counts > 0
    return float(-(counts[used] * np.log2(prob[used])).sum())


def encode(symbols: "np.ndarray", freq: "np.ndarray") -> "np.ndarray":
    """One ANS stream (uint32 words) of symbols in [0, len(freq)); chunks pushed last-first (popped first-first)."""
    import numpy as np

    if freq.size == 1:  # one symbol carries no information: an empty stream
        return np.zeros(0, dtype=np.uint32)
    coder = _constriction().stream.stack.AnsCoder()
    table = model(freq)
    symbols = symbols.astype(np.int32, copy=False)
    for start in reversed(range(0, symbols.size, CHUNK)):
        coder.encode_reverse(symbols[start : start + CHUNK], table)
    return coder.get_compressed().astype(np.uint32, copy=False)


def decode(words: "np.ndarray", freq: "np.ndarray", count: int, name: str) -> "np.ndarray":
    """The ``count`` symbols of a stream (int64); a stream too short or too long is a ``UserError``."""
    import numpy as np

    if freq.size == 1:
        if words.size:
            raise UserError(f"tensor {name!r}: a one-symbol alphabet must come with an empty stream")
        return np.zeros(count, dtype=np.int64)
    table = model(freq)
    try:
        coder = _constriction().stream.stack.AnsCoder(words.astype(np.uint32))
        parts = [coder.decode(table, min(CHUNK, count - s)) for s in range(0, count, CHUNK)]
    except Exception as exc:  # noqa: BLE001 - constriction raises several types on a malformed stream
        raise UserError(f"tensor {name!r}: the ANS stream cannot be decoded ({type(exc).__name__}: {exc})") from None
    if not coder.is_empty():
        raise UserError(f"tensor {name!r}: the ANS stream holds more data than its {count} symbols")
    return np.concatenate(parts).astype(np.int64)
