"""Target functions f : [0,1]^d → R with certified moduli of continuity and rigorous enclosures.

Approximation theorems bound the error through the modulus of continuity
ω_f(r) = sup{|f(x) − f(y)| : ‖x − y‖₂ ≤ r}.  A :class:`Target` carries a certified upper bound
ω̄(r) = λ r^α (λ an exact rational, α ∈ (0, 1]) together with a one-line statement of *how* it is
known (``certified``):

* library targets: a short proof, repeated in each builder's docstring;
* ``"checked: ..."``: a user constant verified by bounding ‖∇f‖₂ over the cube with arb ball
  arithmetic and bisection;
* ``"assumption: ..."``: a user constant that could not be checked (never used by
  :meth:`Target.enclose`, so range enclosures never rest on an assumption).

Everything on the verdict path is exact (``fmpq``) or arb balls; no floats.

The package, one job per module:

* :mod:`.rationals` — exact helpers (outward rounding of balls, √ upper bounds);
* :mod:`.parse` — the coordinate symbols and safe parsing of user text;
* :mod:`.contexts` and :mod:`.compile` — one sympy compiler, run against a number context
  (arb balls, exact rationals, exact rational intervals);
* :mod:`.target` — the :class:`Target` class (values, enclosures, modulus, serialisation);
* :mod:`.library` — the named library targets and :func:`make_target`;
* :mod:`.user` — :func:`user_target` and the gradient check of its modulus.

>>> from flint import fmpq
>>> t = make_target("abs", 1)
>>> t.exact([fmpq(1, 2)])
1/6
>>> lo, hi = t.enclose([(fmpq(0), fmpq(1, 2))])
>>> lo <= 0 and hi >= fmpq(1, 3)
True
"""

from __future__ import annotations

from constructive.targets.library import LIBRARY, make_target
from constructive.targets.parse import symbols_for
from constructive.targets.rationals import arb_to_fmpq_bounds, sqrt_upper
from constructive.targets.target import Target
from constructive.targets.user import user_target

__all__ = [
    "Target",
    "symbols_for",
    "LIBRARY",
    "make_target",
    "user_target",
    "arb_to_fmpq_bounds",
    "sqrt_upper",
]
