"""The IR mirrored to PyTorch: batched float evaluation on CPU or CUDA, for exploration only.

``to_torch(net)`` returns a ``torch.nn.Module`` that evaluates the same network (Repeat blocks
as loops over one module, nested activations as sub-modules, copies of one block in a
``Parallel`` batched side by side).  Points are columns, as in the exact contexts:
``module(X)`` maps an (in_dim, batch) tensor to (out_dim, batch).

Float results are never certificates.  The **precision guard** estimates from the IR how many
mantissa bits a faithful evaluation needs — the dynamic range of the values plus the bits lost
to error amplification, bounded by the product of the layers' ∞-norms (ReLU is 1-Lipschitz)
— and refuses (or, with ``allow_imprecise=True``, warns) when the dtype has fewer.
``rounding_bound`` gives a computed a-posteriori bound on |float − exact| for one batch.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from flint import fmpq_mat

from constructive.errors import UserError
from constructive.evaluate import NodeInterpreter
from constructive.ir import Activation, Affine, Network, Node, Parallel, Repeat

MANTISSA = {torch.float64: 53, torch.float32: 24, torch.bfloat16: 8, torch.float16: 11}


def _tensor(m: fmpq_mat, dtype: torch.dtype, device: Any) -> torch.Tensor:
    # int/int true division is correctly rounded: each weight is the nearest double
    values = [int(q.p) / int(q.q) for q in m.entries()]
    return torch.tensor(values, dtype=torch.float64).reshape(m.nrows(), m.ncols()).to(dtype=dtype, device=device)


class AffineModule(torch.nn.Module):
    def __init__(self, node: Affine, dtype: torch.dtype, device: Any) -> None:
        super().__init__()
        self.register_buffer("W", _tensor(node.W, dtype, device))
        self.register_buffer("b", _tensor(node.b, dtype, device))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.b, self.W, X) if self.W.shape[1] else self.b.expand(-1, X.shape[1]).clone()


class ActivationModule(torch.nn.Module):
    def __init__(self, node: Activation, build: _Mirror) -> None:
        super().__init__()
        self.groups = node.groups()
        self.nested = torch.nn.ModuleList()
        self.kernels: list = []
        for _, _, f in self.groups:
            if isinstance(f, Network):
                self.nested.append(build.run(f))
                self.kernels.append(len(self.nested) - 1)
            elif f.name == "relu":
                self.kernels.append(torch.relu)
            elif f.name == "identity":
                self.kernels.append(lambda x: x)
            elif getattr(f, "torch", None) is not None:
                self.kernels.append(f.torch)
            else:
                raise UserError(f"activation {f!r} has no torch kernel; use an exact or ball context")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        parts = []
        for (a, b, _), k in zip(self.groups, self.kernels):
            Z = X[a:b]
            if isinstance(k, int):  # a nested activation: a network R -> R on every entry
                shape = Z.shape
                parts.append(self.nested[k](Z.reshape(1, -1)).reshape(shape))
            else:
                parts.append(k(Z))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)


class SequenceModule(torch.nn.Module):
    def __init__(self, modules: list) -> None:
        super().__init__()
        self.steps = torch.nn.ModuleList(modules)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for m in self.steps:
            X = m(X)
        return X


class RepeatModule(torch.nn.Module):
    def __init__(self, body: torch.nn.Module, times: int) -> None:
        super().__init__()
        self.body, self.times = body, times

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for _ in range(self.times):
            X = self.body(X)
        return X


class ParallelModule(torch.nn.Module):
    def __init__(self, node: Parallel, build: _Mirror) -> None:
        super().__init__()
        self.sizes = [p.in_dim for p in node.parts]
        first = node.parts[0]
        self.shared = len(node.parts) > 1 and all(p is first for p in node.parts)
        self.parts = torch.nn.ModuleList([build.run(p) for p in node.parts])

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        slices = torch.split(X, self.sizes, dim=0)
        if self.shared:  # copies of one block: one call on the columns side by side
            n = X.shape[1]
            out = self.parts[0](torch.cat(slices, dim=1))
            return torch.cat(torch.split(out, n, dim=1), dim=0)
        return torch.cat([m(s) for m, s in zip(self.parts, slices)], dim=0)


class _Mirror(NodeInterpreter):
    """The IR translated into modules: ``run(node)`` is the module of ``node`` (there is no value
    to carry, so ``X`` is unused).  One module per stored node object: shared blocks stay shared.
    A gadget is its body's module (NodeInterpreter's handler)."""

    def __init__(self, dtype: torch.dtype, device: Any) -> None:
        self.dtype, self.device = dtype, device
        self.cache: dict = {}

    def run(self, node: Node, X: Any = None) -> torch.nn.Module:
        hit = self.cache.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        module = super().run(node, X)
        self.cache[id(node)] = (node, module)
        return module

    def affine(self, node: Affine, X: Any) -> torch.nn.Module:
        return AffineModule(node, self.dtype, self.device)

    def activation(self, node: Activation, X: Any) -> torch.nn.Module:
        return ActivationModule(node, self)

    def repeat(self, node: Repeat, X: Any) -> torch.nn.Module:
        return RepeatModule(self.run(node.body), node.times)

    def parallel(self, node: Parallel, X: Any) -> torch.nn.Module:
        return ParallelModule(node, self)

    def network(self, node: Network, X: Any) -> torch.nn.Module:
        return SequenceModule([self.run(n) for n in node.nodes])


# ---------------------------------------------------------------------------------------------
# precision guard


def _norm_inf(m: fmpq_mat) -> Fraction:
    best = Fraction(0)
    for i in range(m.nrows()):
        row = sum((abs(Fraction(int(m[i, j].p), int(m[i, j].q))) for j in range(m.ncols())), Fraction(0))
        best = max(best, row)
    return best


def _log2(x: Fraction) -> float:
    return math.log2(x.numerator) - math.log2(x.denominator) if x > 0 else -math.inf


def required_bits(net: Node, input_bound: Fraction = Fraction(1)) -> float:
    """Mantissa bits a faithful float evaluation of ``net`` needs (an estimate from the IR).

    A relative rounding error u on an input of size |x| ≤ ``input_bound`` (or on any value of
    that size inside the network) reaches the output amplified by at most the network's
    Lipschitz constant in the ∞-norm, L ≤ Π_k max(‖W_k‖∞, 1) (ReLU is 1-Lipschitz).  Keeping
    that below 2^-8 of the output's unit needs log2(|x| · L) + 8 bits.  The estimate is
    conservative: for the bit-extraction chain the ∞-norm product grows like 2^{4J} where the
    true slope is 2^{2J}, so float64 is refused from J = 11 on (J = 64 needs far more than 53
    bits either way), while a width-16, depth-4 network with weights in [−1, 1] needs about 25.
    """
    from constructive.architecture import layers

    log_l = 0.0
    for layer in layers(net):
        n = max((_norm_inf(a.W) for a in layer.blocks), default=Fraction(0))
        log_l += max(_log2(n), 0.0)
    return max(_log2(max(Fraction(input_bound), Fraction(1))), 0.0) + log_l + 8.0


def to_torch(net: Node, dtype: torch.dtype = torch.float64, device: Any = "cpu",
             allow_imprecise: bool = False, input_bound: Fraction = Fraction(1)) -> torch.nn.Module:
    """Mirror ``net`` as a torch module; refuse when ``dtype`` cannot carry the bits it needs."""
    need = required_bits(net, input_bound)
    have = MANTISSA.get(dtype)
    if have is None:
        raise UserError(f"dtype {dtype} is not supported; use one of {sorted(map(str, MANTISSA))}")
    if need > have:
        msg = (f"{dtype} carries {have} mantissa bits but this network needs about {need:.0f} "
               "(large intermediate values or error amplification); results would be noise")
        if not allow_imprecise:
            raise UserError(msg + "; allow it with --allow-imprecise (allow_imprecise=True)")
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    module = _Mirror(dtype, torch.device(device)).run(net)
    module.required_bits = need  # type: ignore[attr-defined]
    return module


def rounding_bound(net: Node, X: torch.Tensor) -> torch.Tensor:
    """A computed bound on |float64 mirror − exact| per output and point, for inputs ``X``
    that are exactly representable.

    It follows the mirror's own order of operations (affine maps are not merged).  Forward
    error analysis of y = Wx + b in floating point: the converted weights carry a relative
    error ≤ u and the sum of n+1 products one ≤ γ_{n+1} = (n+1)u/(1−(n+1)u), so
    |ŷ − y| ≤ |W| e + (γ_{n+1} + 2u)(|W||x̂| + |b|) with e the incoming error; ReLU and the
    identity are 1-Lipschitz and exact on floats.  The bound is evaluated in float64 and
    inflated by 1 % per layer to cover its own rounding.
    """
    x = X.to(torch.float64)
    _, e = _RoundingBound().run(net, (x, torch.zeros_like(x)))
    return e


class _RoundingBound(NodeInterpreter):
    """Float64 values with their error bounds: the walk carries (x, e); networks, gadgets and
    repeats are NodeInterpreter's."""

    def __init__(self) -> None:
        self.cache: dict = {}

    def affine(self, node: Affine, X: tuple) -> tuple:
        x, e = X
        u = 2.0 ** -53
        key = id(node)
        if key not in self.cache:
            W = _tensor(node.W, torch.float64, "cpu")
            self.cache[key] = (W, W.abs(), _tensor(node.b, torch.float64, "cpu"))
        W, Wabs, b = self.cache[key]
        n = W.shape[1]
        gamma = (n + 1) * u / (1 - (n + 1) * u)
        e = (Wabs @ e + (gamma + 2 * u) * (Wabs @ x.abs() + b.abs())) * 1.01
        return W @ x + b, e

    def activation(self, node: Activation, X: tuple) -> tuple:
        x, e = X
        for f in node.functions:
            if isinstance(f, Network) or f.name not in ("relu", "identity"):
                raise UserError("rounding_bound handles ReLU and identity activations only")
        mask = torch.tensor([f.name == "relu" for f in node.functions]).unsqueeze(1)
        return torch.where(mask, torch.relu(x), x), e

    def slice(self, X: tuple, start: int, stop: int) -> tuple:
        x, e = X
        return x[start:stop], e[start:stop]

    def join(self, parts: list) -> tuple:
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def explore(net: Node, target: Any, dim: int, points: int = 4096, device: str = "cpu",
            allow_imprecise: bool = False, seed: int = 0) -> dict:
    """Float exploration: max |f − φ| over random points, evaluated through the mirror.

    A sampled float maximum is a guess at a lower bound, never a certificate.
    """
    import sympy

    from constructive.targets import symbols_for

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} is not available here (no CUDA); use --device cpu")
    module = to_torch(net, device=device, allow_imprecise=allow_imprecise)
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(dim, points, generator=gen, dtype=torch.float64)
    f = sympy.lambdify(symbols_for(dim), target.expr, "numpy")
    with torch.no_grad():
        Y = module(X.to(device)).cpu()[0].numpy()
    F = np.broadcast_to(np.asarray(f(*X.numpy()), dtype=np.float64), Y.shape)
    err = np.abs(F - Y)
    k = int(err.argmax())
    return {"points": points, "device": str(device), "dtype": "float64",
            "max_abs_error": float(err[k]), "at": X[:, k].tolist(),
            "required_bits": module.required_bits}


__all__ = ["to_torch", "explore", "required_bits", "rounding_bound", "MANTISSA"]
