"""Exact group-wise evaluation of ReLU networks, fast enough for 10^4–10^5 cells.

Points come in groups of V (the 2^d corners of a closed box).  The network is read as its plain
layered form (``constructive.architecture.plain_form``: merged affine maps, block-diagonal
parallel parts).  Values are exact: integer numerators over one common denominator per layer,
kept in int64 numpy arrays whenever a float upper bound of every |numerator| that an affine map
can produce (|W|·|X| + |b|·den) stays below 2^62 — then the int64 products and sums cannot
overflow — and in Python-integer arrays otherwise.  The float bound only chooses the
representation, never a value.

Why a group whose outputs agree is a box on which the network is constant: at every ReLU the
pre-activation of every neuron is checked to have one weak sign on all V points of a group; if
so, by induction every layer is affine on the group's convex hull (an affine map of an affine
function is affine; a ReLU with one weak sign on the vertices of a box is 0 or the identity on
the whole box, since an affine function has its extremes at vertices).  So the network is affine
on the box, and equal at all its vertices means constant.  Groups that break a sign are marked
(``None``), never guessed.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
from flint import fmpq

from constructive import architecture as arch
from constructive.activations import IDENTITY, RELU
from constructive.ir import Activation, Node

SAFE = float(2 ** 62)
EXACT_FLOAT = float(2 ** 52)


def _int_matrix(entries: Sequence[fmpq], shape: tuple[int, int]) -> tuple[np.ndarray, int]:
    den = 1
    for v in entries:
        q = int(v.q)
        if den % q:
            den = den * q // math.gcd(den, q)
    nums = [int(v.p) * (den // int(v.q)) for v in entries]
    big = any(abs(x) >= 2 ** 62 for x in nums)
    arr = np.array(nums, dtype=object if big else np.int64).reshape(shape)
    return arr, den


def _floats(arr: np.ndarray) -> np.ndarray:
    """The entries as floats, ±inf past float's range (a magnitude then only sends the affine
    map to exact Python integers; no value is read from it)."""
    if arr.dtype != object:
        return arr.astype(float)
    return np.array([_float(v) for v in arr.ravel()], dtype=float).reshape(arr.shape)


def _float(v: int) -> float:
    return float(v) if abs(v) < 2 ** 1000 else (math.inf if v > 0 else -math.inf)


class _Block:
    """One affine block as integer (W, b) over a common denominator, with float magnitudes."""

    def __init__(self, aff: Any) -> None:
        r, c = aff.W.nrows(), aff.W.ncols()
        W, b = list(aff.W.entries()), list(aff.b.entries())
        ent = [v for i in range(r) for v in (*W[i * c:(i + 1) * c], b[i])]  # rows [W_i | b_i]
        M, self.den = _int_matrix(ent, (r, c + 1)) if r else (np.zeros((0, c + 1), np.int64), 1)
        self.W, self.b = M[:, :c], M[:, c]
        self.Wf = _floats(self.W)
        self.absW = np.abs(self.Wf)
        self.absb = np.abs(_floats(self.b))
        self.rows, self.cols = r, c


def _to_float_abs(X: np.ndarray) -> np.ndarray:
    return np.abs(_floats(X))


def _affine(blk: _Block, X: np.ndarray, den: int) -> np.ndarray:
    """Numerators of W x + b over the denominator blk.den · den."""
    Xabs = _to_float_abs(X)
    with np.errstate(over="ignore", invalid="ignore"):  # inf or nan: not < SAFE, exact path
        bound = (blk.absW @ Xabs).max(initial=0.0) + blk.absb.max(initial=0.0) * _float(den)
    if bound < SAFE and X.dtype != object and blk.W.dtype != object and den < SAFE:
        if bound < EXACT_FLOAT:  # every partial sum is an integer below 2^52: BLAS is exact
            return (blk.Wf @ X.astype(float)).astype(np.int64) + blk.b[:, None] * den
        return blk.W @ X + blk.b[:, None] * den
    Xo, Wo = X.astype(object), blk.W.astype(object)
    return Wo.dot(Xo) + blk.b.astype(object)[:, None] * den


def _reduce(X: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Divide numerators and denominator by their gcd; back to int64 when small enough."""
    if X.dtype == object:
        g = den
        for v in X.ravel():
            g = math.gcd(g, int(v))
            if g == 1:
                break
    else:
        g = math.gcd(den, int(np.gcd.reduce(X.ravel()))) if X.size else den
    if g > 1:
        X = X // g
        den //= g
    if X.dtype == object and X.size and max(abs(int(v)) for v in X.ravel()) < 2 ** 62:
        X = X.astype(np.int64)
    return X, den


class GroupEvaluator:
    """Evaluates one network exactly on groups of V points (see the module docstring)."""

    def __init__(self, net: Node) -> None:
        self.items = arch.plain_form(net)
        self.blocks: list[Any] = []
        for it in self.items:
            if isinstance(it, Activation):
                fns = it.functions
                if any(f is not RELU and f is not IDENTITY for f in fns):
                    raise ValueError("the group evaluator follows ReLU/identity networks only")
                self.blocks.append(np.array([f is RELU for f in fns]))
            else:
                self.blocks.append([_Block(a) for a in getattr(it, "parts", (it,))])
        self.in_dim = net.in_dim

    def run(self, groups: Sequence[Sequence[Sequence[fmpq]]]) -> list[Optional[tuple]]:
        """The exact constant output vector of the network on each group's hull, or None."""
        V = len(groups[0])
        pts = [p for g in groups for p in g]
        G = len(groups)
        den = 1
        for p in pts:
            for v in p:
                q = int(fmpq(v).q)
                den = den * q // math.gcd(den, q)
        X = np.array([[int(fmpq(p[i]).p) * (den // int(fmpq(p[i]).q)) for p in pts]
                      for i in range(self.in_dim)], dtype=object)
        X, den = _reduce(X, den)
        alive = np.arange(G)  # the groups still followed, in column order
        for item in self.blocks:
            if isinstance(item, np.ndarray):  # activation rows: True = ReLU
                relu = item
                if relu.any():
                    R = X[relu]
                    if V > 1:
                        cube = R.reshape(R.shape[0], len(alive), V)
                        ok = (cube >= 0).all(axis=2) | (cube <= 0).all(axis=2)
                        good = ok.all(axis=0)
                        if not good.all():  # a broken group is dropped: its value is never used
                            alive = alive[good]
                            X = X.reshape(X.shape[0], -1, V)[:, good, :].reshape(X.shape[0], -1)
                            R = R.reshape(R.shape[0], -1, V)[:, good, :].reshape(R.shape[0], -1)
                    X = X.copy()
                    X[relu] = np.maximum(R, 0)
                if V > 1:
                    cube = X.reshape(X.shape[0], len(alive), V)
                    if (cube == cube[:, :, :1]).all():  # every group constant from here on
                        X, V = np.ascontiguousarray(cube[:, :, 0]), 1
                continue
            outs, dens, start = [], [], 0
            for blk in item:
                outs.append(_affine(blk, X[start:start + blk.cols], den))
                dens.append(blk.den * den)
                start += blk.cols
            common = math.lcm(*dens)
            parts = []
            for Y, dd in zip(outs, dens):
                f = common // dd
                if f != 1:
                    if Y.dtype != object and float(np.abs(Y).max(initial=0)) < SAFE / _float(f):
                        Y = Y * f
                    else:
                        Y = Y.astype(object) * f
                parts.append(Y)
            if any(p.dtype == object for p in parts):
                parts = [p.astype(object) for p in parts]
            X, den = _reduce(np.vstack(parts), common)
        out: list[Optional[tuple]] = [None] * G
        cube = X.reshape(X.shape[0], len(alive), V)
        for k, g in enumerate(alive):
            if (cube[:, k, :] == cube[:, k, :1]).all():
                out[int(g)] = tuple(fmpq(int(v), den) for v in cube[:, k, 0])
        return out


def group_constants(net: Node, groups: Sequence[Sequence[Sequence[fmpq]]],
                    chunk: int = 8192) -> list[Optional[tuple]]:
    """:meth:`GroupEvaluator.run` in chunks of groups (bounded memory)."""
    ev = GroupEvaluator(net)
    out: list[Optional[tuple]] = []
    for s in range(0, len(groups), chunk):
        out += ev.run(groups[s:s + chunk])
    return out
