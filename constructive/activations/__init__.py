"""The activation catalogue.

An activation is a value: a name, optional parameters, and one scalar kernel per number context
(exact where the function maps rationals to rationals, ball always, mpmath and float for
reference and exploration).  The interpreter looks kernels up through the context, so adding an
activation never touches evaluation code.

>>> from flint import fmpq
>>> RELU.exact(fmpq(-3, 2)), RELU.exact(fmpq(5, 7))
(0, 5/7)
>>> lookup("identity").exact(fmpq(-1, 3))
-1/3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import mpmath
import numpy as np
from flint import arb, fmpq

from constructive.errors import UserError


@dataclass(frozen=True)
class ActivationFunction:
    """An elementwise activation with kernels for each number system.

    ``lipschitz`` is a rational upper bound of the Lipschitz constant (``None`` if unbounded);
    ``piecewise_linear`` marks functions the exact 1-D enumeration can follow.
    """

    name: str
    exact: Optional[Callable[[fmpq], fmpq]]
    ball: Callable[[arb], arb]
    mp: Callable[[Any], Any]
    float: Callable[[np.ndarray], np.ndarray]
    params: tuple[tuple[str, Any], ...] = ()
    lipschitz: Optional[fmpq] = None
    piecewise_linear: bool = False
    breakpoints: tuple[fmpq, ...] = field(default=())
    torch: Optional[Callable[[Any], Any]] = None  # a torch kernel (tensor -> tensor), if any

    def __repr__(self) -> str:
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.name}({inner})"

    @property
    def key(self) -> str:
        """A stable text identity used in digests and certificates."""
        return repr(self)


def _relu_exact(x: fmpq) -> fmpq:
    return x if x > 0 else fmpq(0)


RELU = ActivationFunction(
    name="relu",
    exact=_relu_exact,
    ball=lambda x: x.nonnegative_part(),
    mp=lambda x: x if x > 0 else mpmath.mpf(0),
    float=lambda x: np.maximum(x, 0.0),
    lipschitz=fmpq(1),
    piecewise_linear=True,
    breakpoints=(fmpq(0),),
)

IDENTITY = ActivationFunction(
    name="identity",
    exact=lambda x: x,
    ball=lambda x: x,
    mp=lambda x: x,
    float=lambda x: x,
    lipschitz=fmpq(1),
    piecewise_linear=True,
)

CATALOGUE: dict[str, ActivationFunction] = {a.name: a for a in (RELU, IDENTITY)}


def register(activation: ActivationFunction) -> ActivationFunction:
    """Add an activation to the catalogue (used by later modules of the catalogue)."""
    CATALOGUE[activation.name] = activation
    return activation


# modules that add activations to the catalogue when imported (kept lazy: no import cycles)
EXTENSIONS = ("constructive.activations.catalogue", "constructive.activations.euaf")


def _load_extensions() -> None:
    import importlib

    for module in EXTENSIONS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def lookup(name: str) -> ActivationFunction:
    if name not in CATALOGUE:
        _load_extensions()
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(sorted(CATALOGUE))
        raise UserError(f"unknown activation {name!r}; known: {known}") from None
