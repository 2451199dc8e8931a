"""Number contexts: one evaluation algorithm, several number systems (the mpmath idea).

A context turns exact network parameters into its own matrices once, and offers the handful of
batched operations the interpreter needs (affine maps, elementwise kernels, row/column slicing).
Points are matrix *columns*, so one affine map serves a whole batch.

* :class:`Exact` — rationals.  A batch is a :class:`QMatrix`: Python integers over one common
  denominator.  Measured on the width-2 bit-extraction chain (J = 1024, 10 240 columns), one layer
  costs 57 ms (matmul) + 60 ms (ReLU) with ``fmpq_mat`` but about 20 ms with a common
  denominator, because ReLU becomes ``np.maximum`` on integers and weights such as ±1/2 never
  grow the denominator.  python-flint's ``fmpq_mat`` stays the storage format of the IR.
* :class:`Ball` — arb balls (``arb_mat``) at a precision set by a context manager.
* :class:`MP` — mpmath floats at a working precision (reference values, special functions).
* :class:`Float64` — numpy floats, for exploration only: no verdict rests on them.
"""

from __future__ import annotations

import abc
import contextlib
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Optional, Sequence

import mpmath
import numpy as np
from flint import arb, arb_mat
from flint import ctx as flint_ctx
from flint import fmpq, fmpq_mat

from constructive.errors import UserError

Rational = fmpq


MAX_TEXT = 20_000      # characters of a number literal
MAX_EXPONENT = 10_000  # |e| of a literal's decimal exponent
_EXPONENT = re.compile(r"[eE]([+-]?\d+)")


class LiteralTooLarge(ValueError):
    """A number literal past MAX_TEXT characters or MAX_EXPONENT: refused before any work."""


def as_fmpq(value: Any) -> fmpq:
    """Convert an int, Fraction, fmpq or a string such as ``"-3/8"`` to an exact fmpq."""
    if isinstance(value, fmpq):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        return fmpq(value)
    if isinstance(value, Fraction):
        return fmpq(value.numerator, value.denominator)
    if isinstance(value, str):
        # Fraction("1e400000000") builds a 400-million-digit integer: refused before it starts
        text = value.strip()
        exponent = _EXPONENT.search(text)
        if len(text) > MAX_TEXT or exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
            raise LiteralTooLarge(f"{text[:40]!r} is too large a literal (at most {MAX_TEXT} characters, "
                             f"exponents within ±{MAX_EXPONENT})")
        f = Fraction(text)
        return fmpq(f.numerator, f.denominator)
    if hasattr(value, "p") and hasattr(value, "q"):  # sympy Rational, fmpq-like
        return fmpq(int(value.p), int(value.q))
    raise TypeError(f"not an exact rational: {value!r} ({type(value).__name__})")


def fmpq_to_fraction(q: fmpq) -> Fraction:
    return Fraction(int(q.p), int(q.q))


@contextlib.contextmanager
def precision(bits: int) -> Iterator[None]:
    """Set python-flint's (and mpmath's) working precision for the enclosed block only."""
    old_flint, old_mp = flint_ctx.prec, mpmath.mp.prec
    flint_ctx.prec, mpmath.mp.prec = bits, bits
    try:
        yield
    finally:
        flint_ctx.prec, mpmath.mp.prec = old_flint, old_mp


# --------------------------------------------------------------------------------------------
# Exact batches: integers over one common denominator


@dataclass(frozen=True, eq=False)
class QMatrix:
    """A rational matrix stored as ``num / den`` with ``num`` an object array of Python ints."""

    num: np.ndarray
    den: int

    @staticmethod
    def from_fmpq_mat(m: fmpq_mat) -> "QMatrix":
        num, den = m.numer_denom()
        arr = np.empty((m.nrows(), m.ncols()), dtype=object)
        arr.flat[:] = [int(v) for v in num.entries()]
        return QMatrix(arr, int(den))

    @staticmethod
    def from_rationals(rows: int, cols: int, values: Sequence[Any]) -> "QMatrix":
        qs = [as_fmpq(v) for v in values]
        den = math.lcm(1, *(int(q.q) for q in qs))
        arr = np.empty((rows, cols), dtype=object)
        arr.flat[:] = [int(q.p) * (den // int(q.q)) for q in qs]
        return QMatrix(arr, den)

    @property
    def shape(self) -> tuple[int, int]:
        return self.num.shape

    def entry(self, i: int, j: int) -> fmpq:
        return fmpq(self.num[i, j], self.den)

    def column(self, j: int) -> list[fmpq]:
        return [fmpq(v, self.den) for v in self.num[:, j]]

    def to_fmpq_mat(self) -> fmpq_mat:
        r, c = self.shape
        return fmpq_mat(r, c, [fmpq(v, self.den) for v in self.num.flat])

    def reduced(self) -> "QMatrix":
        # den = 2^a · odd: the power of two the entries share is read off trailing zero bits,
        # and only the odd part (small for dyadic weights and grids like k/3K) takes gcds, so
        # numbers of thousands of bits (bit extraction) are not run through big-integer gcds
        a = (self.den & -self.den).bit_length() - 1
        odd, shift = self.den >> a, a
        for v in self.num.flat:
            if not shift:
                break
            if v:
                shift = min(shift, (v & -v).bit_length() - 1)
        g = math.gcd(odd, *self.num.flat) if odd > 1 else 1
        if g == 1 and not shift:
            return self
        num = self.num >> shift if shift else self.num
        return QMatrix(num // g if g > 1 else num, (odd // g) << (a - shift))

    def reduced_cheaply(self) -> "QMatrix":
        """Divide by the common power of two, then by the gcd of the numerators with the odd
        part of the denominator when that part is small: exact, usually fully reduced, and far
        cheaper than a gcd over thousands of huge numerators."""
        X, den = self, self.den
        a = (den & -den).bit_length() - 1
        if a and X.num.size:
            t = min(a, int(_TRAILING_ZEROS(X.num).min()))
            if t:
                X, den = QMatrix(X.num >> t, den >> t), den >> t
        odd = den >> ((den & -den).bit_length() - 1)
        if odd > 1 and odd.bit_length() <= 256:
            g = math.gcd(odd, *X.num.flat)
            if g > 1:
                X = QMatrix(X.num // g, den // g)
        return X

    def with_den(self, den: int) -> "QMatrix":
        """The same matrix over a multiple ``den`` of its denominator."""
        if den == self.den:
            return self
        ratio = den // self.den
        if ratio & (ratio - 1) == 0:  # a shift: CPython multiplies by 2^k digit by digit
            return QMatrix(self.num << (ratio.bit_length() - 1), den)
        return QMatrix(self.num * ratio, den)


_TRAILING_ZEROS = np.frompyfunc(lambda v: (v & -v).bit_length() - 1 if v else 1 << 62, 1, 1)


def _common(parts: Sequence[QMatrix]) -> tuple[list[np.ndarray], int]:
    # an empty part has no entries to put over the common denominator: it must not enlarge it
    den = math.lcm(*(p.den for p in parts if p.num.size)) if any(p.num.size for p in parts) else 1
    return [p.with_den(den).num for p in parts], den


# --------------------------------------------------------------------------------------------
# Contexts


class NumberContext(abc.ABC):
    """The protocol every context implements; the interpreter is written against it only."""

    name = "abstract"
    rigorous = False  # True when results are exact or enclose the truth

    def __init__(self) -> None:
        self._cache: dict[int, Any] = {}

    # parameters ------------------------------------------------------------------------------
    def convert(self, m: fmpq_mat) -> Any:
        """Convert an exact parameter matrix; cached per matrix object."""
        key = id(m)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not m:
            hit = (m, self._convert(m))
            self._cache[key] = hit
        return hit[1]

    @abc.abstractmethod
    def _convert(self, m: fmpq_mat) -> Any:
        """This context's form of an exact parameter matrix."""

    @abc.abstractmethod
    def points(self, columns: Sequence[Sequence[Any]]) -> Any:
        """A batch from points given as sequences of exact rationals (one point per column)."""

    # batched operations ----------------------------------------------------------------------
    @abc.abstractmethod
    def affine(self, W: fmpq_mat, b: fmpq_mat, X: Any) -> Any:
        """W·X + b for every column of the batch."""

    @abc.abstractmethod
    def elementwise(self, kernel: Callable[[Any], Any], X: Any) -> Any:
        """A scalar kernel applied to every entry."""

    @abc.abstractmethod
    def relu(self, X: Any) -> Any:
        """max(X, 0) entrywise."""

    @abc.abstractmethod
    def shape(self, X: Any) -> tuple[int, int]:
        """(rows, columns) of a batch."""

    @abc.abstractmethod
    def rows(self, X: Any, start: int, stop: int) -> Any:
        """Rows start..stop−1."""

    @abc.abstractmethod
    def cols(self, X: Any, start: int, stop: int) -> Any:
        """Columns (points) start..stop−1."""

    @abc.abstractmethod
    def vstack(self, parts: Sequence[Any]) -> Any:
        """Batches stacked row-wise (same points)."""

    @abc.abstractmethod
    def hstack(self, parts: Sequence[Any]) -> Any:
        """Batches side by side (more points)."""

    @abc.abstractmethod
    def entries(self, X: Any) -> list[list[Any]]:
        """Row-major nested list of scalars of this context."""

    @abc.abstractmethod
    def kernel_of(self, activation: Any) -> Callable[[Any], Any]:
        """The scalar kernel of an activation in this context."""

    @contextlib.contextmanager
    def active(self) -> Iterator["NumberContext"]:
        yield self


class Exact(NumberContext):
    """Exact rational arithmetic; batches are :class:`QMatrix`."""

    name = "exact"
    rigorous = True

    def __init__(self, reduce_every: int = 16, cheap: bool = False) -> None:
        super().__init__()
        # Tent-map chains double their values layer after layer, so the true denominators
        # shrink while the stored common one does not; an occasional gcd keeps integers small.
        # ``cheap`` reduces by powers of two and small odd parts only (see reduced_cheaply).
        self.reduce_every = reduce_every
        self.cheap = cheap
        self._calls = 0

    def _convert(self, m: fmpq_mat) -> QMatrix:
        return QMatrix.from_fmpq_mat(m)

    def points(self, columns: Sequence[Sequence[Any]]) -> QMatrix:
        cols = [list(c) for c in columns]
        if not cols:
            raise ValueError("no points")
        d = len(cols[0])
        values = [cols[j][i] for i in range(d) for j in range(len(cols))]
        return QMatrix.from_rationals(d, len(cols), values)

    def affine(self, W: fmpq_mat, b: fmpq_mat, X: QMatrix) -> QMatrix:
        w, bb = self.convert(W), self.convert(b)
        den = w.den * X.den
        program = self._program(W, w)
        if program is not None:
            num = _run_program(program, X.num)
        elif w.num.shape[1]:
            num = w.num @ X.num
        else:
            num = np.zeros((w.num.shape[0], X.num.shape[1]), dtype=object)
        if bb.den != 1 and den % bb.den:
            scale = bb.den // math.gcd(den, bb.den)
            num, den = num * scale, den * scale
        # a zero bias (packing and output layers) costs no pass over numbers thousands of bits long
        out = QMatrix(num + bb.num * (den // bb.den) if bb.num.any() else num, den)
        self._calls += 1
        if den != X.den or (self.reduce_every and self._calls % self.reduce_every == 0):
            return out.reduced_cheaply() if self.cheap else out.reduced()
        return out

    def _program(self, W: fmpq_mat, w: QMatrix) -> Optional[list]:
        """A row program for sparse or tiny integer matrices (cached), else ``None``.

        Object-array matmul spends a Python multiplication on every entry, zeros included; a
        tent layer [[−2, −2], [2, 2]] needs one addition and one doubling per column instead.
        """
        key = ("program", id(W))
        hit = self._cache.get(key)
        if hit is not None and hit[0] is W:
            return hit[1]
        rows, cols = w.num.shape
        nnz = int(np.count_nonzero(w.num != 0))
        program = _compile_program(w.num) if cols and (nnz <= 4 * rows or rows * cols <= 16) else None
        self._cache[key] = (W, program)
        return program

    def relu(self, X: QMatrix) -> QMatrix:
        return QMatrix(np.maximum(X.num, 0), X.den)

    def elementwise(self, kernel: Callable[[fmpq], fmpq], X: QMatrix) -> QMatrix:
        r, c = X.shape
        return QMatrix.from_rationals(r, c, [kernel(fmpq(v, X.den)) for v in X.num.flat])

    def shape(self, X: QMatrix) -> tuple[int, int]:
        return X.shape

    def rows(self, X: QMatrix, start: int, stop: int) -> QMatrix:
        return QMatrix(X.num[start:stop], X.den)

    def cols(self, X: QMatrix, start: int, stop: int) -> QMatrix:
        return QMatrix(X.num[:, start:stop], X.den)

    def vstack(self, parts: Sequence[QMatrix]) -> QMatrix:
        nums, den = _common(parts)
        return QMatrix(np.vstack(nums), den)

    def hstack(self, parts: Sequence[QMatrix]) -> QMatrix:
        nums, den = _common(parts)
        return QMatrix(np.hstack(nums), den)

    def entries(self, X: QMatrix) -> list[list[fmpq]]:
        return [[fmpq(v, X.den) for v in row] for row in X.num]

    def kernel_of(self, activation: Any) -> Callable[[fmpq], fmpq]:
        if activation.exact is None:
            raise UserError(
                f"activation {activation.name!r} is not closed over the rationals; "
                "evaluate it in a Ball or MP context"
            )
        return activation.exact


def _compile_program(wnum: np.ndarray) -> list:
    """Per output row: ("neg", k) when it is minus an earlier row, else (factor, [(j, w/factor)]),
    with the common factor of the row pulled out so ±1 terms need no multiplication."""
    program: list = []
    seen: dict[tuple, int] = {}
    for i, row in enumerate(wnum):
        terms = tuple((j, int(v)) for j, v in enumerate(row) if v != 0)
        negated = tuple((j, -v) for j, v in terms)
        if terms and negated in seen:
            program.append(("neg", seen[negated]))
            continue
        seen.setdefault(terms, i)
        g = math.gcd(*(v for _, v in terms)) if terms else 1
        if terms and terms[0][1] < 0:
            g = -g
        program.append((g, [(j, v // g) for j, v in terms]))
    return program


def _run_program(program: list, X: np.ndarray) -> np.ndarray:
    out = np.empty((len(program), X.shape[1]), dtype=object)
    if not X.shape[1]:
        return out  # no points: skip the per-row loop (interpolant layers are 2^16 rows wide)
    for i, step in enumerate(program):
        if step[0] == "neg":
            out[i] = -out[step[1]]
            continue
        factor, terms = step
        if not terms:
            out[i] = 0
            continue
        acc = None
        for j, v in terms:
            t = X[j] if v == 1 else (-X[j] if v == -1 else _times(X[j], v))
            acc = t if acc is None else acc + t
        out[i] = acc if factor == 1 else _times(acc, factor)
    return out


_WIDE = 64  # bits: below this a plain multiplication costs no more than splitting off 2^t


def _times(row: np.ndarray, v: int) -> np.ndarray:
    """``row * v`` for an object array of integers, exactly.

    A wide weight times a power of two (the packing map a_ℓ · 4^ϱ of bit extraction: both
    factors thousands of bits long) is a shift: each entry is split as odd · 2^t by its trailing
    zeros, and only the odd part is multiplied (x · v = (odd · v) << t, an identity of integers).
    """
    if v.bit_length() < _WIDE:
        return row * v
    out = np.empty(row.shape, dtype=object)
    flat = out.reshape(-1)
    for k, x in enumerate(row.flat):
        if not x:
            flat[k] = 0
            continue
        t = (x & -x).bit_length() - 1
        flat[k] = (x >> t) * v << t
    return out


class Ball(NumberContext):
    """arb ball arithmetic at ``prec`` bits: every result encloses the exact value."""

    name = "ball"
    rigorous = True

    def __init__(self, prec: int = 128) -> None:
        super().__init__()
        self.prec = prec

    @contextlib.contextmanager
    def active(self) -> Iterator["Ball"]:
        with precision(self.prec):
            yield self

    def _convert(self, m: fmpq_mat) -> arb_mat:
        return arb_mat(m)

    def points(self, columns: Sequence[Sequence[Any]]) -> arb_mat:
        cols = [list(c) for c in columns]
        d = len(cols[0])
        out = arb_mat(d, len(cols))
        for j, col in enumerate(cols):
            for i, v in enumerate(col):
                out[i, j] = v if isinstance(v, arb) else arb(as_fmpq(v))
        return out

    def affine(self, W: fmpq_mat, b: fmpq_mat, X: arb_mat) -> arb_mat:
        w, bb = self.convert(W), self.convert(b)
        y = w * X if w.ncols() else arb_mat(w.nrows(), X.ncols())
        r, c = y.nrows(), y.ncols()
        return arb_mat(r, c, [y[i, j] + bb[i, 0] for i in range(r) for j in range(c)])

    def relu(self, X: arb_mat) -> arb_mat:
        return arb_mat(X.nrows(), X.ncols(), [v.nonnegative_part() for v in X.entries()])

    def elementwise(self, kernel: Callable[[arb], arb], X: arb_mat) -> arb_mat:
        return arb_mat(X.nrows(), X.ncols(), [kernel(v) for v in X.entries()])

    def shape(self, X: arb_mat) -> tuple[int, int]:
        return X.nrows(), X.ncols()

    def rows(self, X: arb_mat, start: int, stop: int) -> arb_mat:
        c = X.ncols()
        return arb_mat(stop - start, c, [X[i, j] for i in range(start, stop) for j in range(c)])

    def cols(self, X: arb_mat, start: int, stop: int) -> arb_mat:
        r = X.nrows()
        return arb_mat(r, stop - start, [X[i, j] for i in range(r) for j in range(start, stop)])

    def vstack(self, parts: Sequence[arb_mat]) -> arb_mat:
        c = parts[0].ncols()
        vals = [v for p in parts for v in p.entries()]
        return arb_mat(sum(p.nrows() for p in parts), c, vals)

    def hstack(self, parts: Sequence[arb_mat]) -> arb_mat:
        r = parts[0].nrows()
        vals = [p[i, j] for i in range(r) for p in parts for j in range(p.ncols())]
        return arb_mat(r, sum(p.ncols() for p in parts), vals)

    def entries(self, X: arb_mat) -> list[list[arb]]:
        return [[X[i, j] for j in range(X.ncols())] for i in range(X.nrows())]

    def kernel_of(self, activation: Any) -> Callable[[arb], arb]:
        return activation.ball


class _ArrayContext(NumberContext):
    """Shared code of the two contexts that keep batches as numpy arrays."""

    def shape(self, X: np.ndarray) -> tuple[int, int]:
        return X.shape

    def rows(self, X: np.ndarray, start: int, stop: int) -> np.ndarray:
        return X[start:stop]

    def cols(self, X: np.ndarray, start: int, stop: int) -> np.ndarray:
        return X[:, start:stop]

    def vstack(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.vstack(parts)

    def hstack(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.hstack(parts)

    def entries(self, X: np.ndarray) -> list[list[Any]]:
        return X.tolist()

    def affine(self, W: fmpq_mat, b: fmpq_mat, X: np.ndarray) -> np.ndarray:
        w, bb = self.convert(W), self.convert(b)
        return w @ X + bb


class MP(_ArrayContext):
    """mpmath floats at ``prec`` bits (object arrays); used for reference values."""

    name = "mp"

    def __init__(self, prec: int = 113) -> None:
        super().__init__()
        self.prec = prec

    @contextlib.contextmanager
    def active(self) -> Iterator["MP"]:
        with mpmath.workprec(self.prec):
            yield self

    def _convert(self, m: fmpq_mat) -> np.ndarray:
        arr = np.empty((m.nrows(), m.ncols()), dtype=object)
        arr.flat[:] = [mpmath.mpf(int(q.p)) / int(q.q) for q in m.entries()]
        return arr

    def points(self, columns: Sequence[Sequence[Any]]) -> np.ndarray:
        cols = [[mpmath.mpf(int(as_fmpq(v).p)) / int(as_fmpq(v).q) for v in c] for c in columns]
        arr = np.empty((len(cols[0]), len(cols)), dtype=object)
        for j, c in enumerate(cols):
            arr[:, j] = c
        return arr

    def relu(self, X: np.ndarray) -> np.ndarray:
        return np.vectorize(lambda v: v if v > 0 else mpmath.mpf(0), otypes=[object])(X)

    def elementwise(self, kernel: Callable[[Any], Any], X: np.ndarray) -> np.ndarray:
        return np.vectorize(kernel, otypes=[object])(X)

    def kernel_of(self, activation: Any) -> Callable[[Any], Any]:
        return activation.mp


class Float64(_ArrayContext):
    """numpy float64: fast, for exploration and falsification only."""

    name = "float64"

    def _convert(self, m: fmpq_mat) -> np.ndarray:
        return np.array([[float(fmpq_to_fraction(q)) for q in row] for row in m.table()],
                        dtype=np.float64).reshape(m.nrows(), m.ncols())

    def points(self, columns: Sequence[Sequence[Any]]) -> np.ndarray:
        return np.array([[float(fmpq_to_fraction(as_fmpq(v))) if not isinstance(v, float) else v
                          for v in c] for c in columns], dtype=np.float64).T.copy()

    def relu(self, X: np.ndarray) -> np.ndarray:
        return np.maximum(X, 0.0)

    def elementwise(self, kernel: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
        return kernel(X)

    def kernel_of(self, activation: Any) -> Callable[[np.ndarray], np.ndarray]:
        return activation.float


CONTEXTS: dict[str, Callable[..., NumberContext]] = {
    "exact": Exact,
    "ball": Ball,
    "mp": MP,
    "float64": Float64,
}
