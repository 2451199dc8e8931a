"""Identities over all of R^d between ReLU networks, by a normal form of their expressions.

Every neuron is written as a linear form over the inputs x_i and over atoms relu(G), G itself a
linear form in normal form, kept once per G (so two networks that compute the same relu(G) share
the atom).  Three rules, each an identity on all of R^d, put relu(F) in normal form:

* F ≥ 0 syntactically (no input, every atom's coefficient and the constant ≥ 0: atoms are ≥ 0),
  or as a non-negative combination of the previous layer's ReLU outputs and a bias ≥ 0:
  relu(F) = F — a carried value;
* F ≤ 0 the same ways: relu(F) = 0;
* otherwise, with G = ±F whose first term has a positive coefficient: relu(G) is an atom, and
  relu(−G) = relu(G) − G — so a carried pair relu(s), relu(−s) recombines to s.

Two networks whose outputs have the same normal form are equal everywhere; different normal
forms prove nothing (the same function may have several), so a difference is only ever shown at
an exact point.
"""

from __future__ import annotations

import ast

from flint import fmpq

from certify.kernel.errors import KernelError, Undecided
from certify.kernel.network import StoredNetwork

MAX_ATOMS = 20_000
ONE = ("1",)  # the constant term's key


class Forms:
    """The atoms met so far, shared by every network written with them."""

    def __init__(self) -> None:
        self.atoms: dict = {}  # frozen normal form G -> its atom's key ("r", n)

    def relu(self, F: dict, sign: int = 0) -> dict:
        """relu(F) in normal form; ``sign`` +1 (−1) where F is known ≥ 0 (≤ 0) from the network
        (a non-negative combination of ReLU outputs and a non-negative bias)."""
        if sign:
            return dict(F) if sign > 0 else {}
        terms = [(k, c) for k, c in F.items() if k != ONE]
        const = F.get(ONE, fmpq(0))
        if not any(k[0] == "x" for k, _ in terms):
            if all(c >= 0 for _, c in terms) and const >= 0:
                return dict(F)
            if all(c <= 0 for _, c in terms) and const <= 0:
                return {}
        sign = 1 if F[min(k for k, _ in terms)] > 0 else -1
        G = {k: sign * c for k, c in F.items()}
        key = frozenset(G.items())
        if key not in self.atoms:
            if len(self.atoms) >= MAX_ATOMS:
                raise Undecided(f"more than {MAX_ATOMS} distinct ReLU atoms")
            self.atoms[key] = ("r", len(self.atoms))
        atom = {self.atoms[key]: fmpq(1)}
        return atom if sign == 1 else combine([(fmpq(1), atom), (fmpq(-1), G)])

    def outputs(self, net: StoredNetwork) -> list[dict]:
        """The network's outputs in normal form."""
        units = [{("x", i): fmpq(1)} for i in range(net.input_dim)]
        relus = [False] * net.input_dim  # which units are ReLU outputs (≥ 0)
        for layer in net.layers:
            out, signs = [], []
            for i in range(layer.rows):
                used = [(layer.W[i, j], u, r) for j, (u, r) in enumerate(zip(units, relus)) if layer.W[i, j] != 0]
                pre = combine([(w, u) for w, u, _ in used] + [(layer.b[i, 0], {ONE: fmpq(1)})])
                act = layer.acts[i] if layer.acts else "identity"
                if act not in ("relu", "identity"):
                    raise KernelError(f"activation {act!r}: the normal form follows ReLU networks only")
                known = all(r for _, _, r in used)
                sign = (1 if known and all(w > 0 for w, _, _ in used) and layer.b[i, 0] >= 0 else
                        -1 if known and all(w < 0 for w, _, _ in used) and layer.b[i, 0] <= 0 else 0)
                out.append(self.relu(pre, sign) if act == "relu" else pre)
                signs.append(act == "relu")
            units, relus = out, signs
        return units


    def of_formula(self, node: ast.AST) -> dict:
        """A parsed formula in x1, x2, … made of integers, +, −, products and quotients by
        constants, Max, Min and Abs, in normal form: max(a, b) = b + relu(a − b),
        min(a, b) = a − relu(a − b), |a| = relu(a) + relu(−a)."""
        if isinstance(node, ast.Expression):
            return self.of_formula(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return combine([(fmpq(node.value), {ONE: fmpq(1)})])
        if isinstance(node, ast.Name) and node.id[:1] == "x" and node.id[1:].isdigit():
            return {("x", int(node.id[1:]) - 1): fmpq(1)}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return combine([(fmpq(-1 if isinstance(node.op, ast.USub) else 1), self.of_formula(node.operand))])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = self.of_formula(node.left), self.of_formula(node.right)
            if isinstance(node.op, (ast.Add, ast.Sub)):
                return combine([(fmpq(1), a), (fmpq(1 if isinstance(node.op, ast.Add) else -1), b)])
            if isinstance(node.op, ast.Div) and set(b) == {ONE}:
                return combine([(1 / b[ONE], a)])
            if isinstance(node.op, ast.Mult) and set(a) <= {ONE} or set(b) <= {ONE}:
                k, F = (a, b) if set(a) <= {ONE} else (b, a)
                return combine([(k.get(ONE, fmpq(0)), F)])
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Max", "Min", "Abs") and node.args:
            args = [self.of_formula(a) for a in node.args]
            if node.func.id == "Abs" and len(args) == 1:
                return combine([(fmpq(1), self.relu(args[0])), (fmpq(1), self.relu(combine([(-1, args[0])])))])
            out = args[0]
            for b in args[1:]:
                gap = self.relu(combine([(fmpq(1), out), (fmpq(-1), b)]))
                out = combine([(fmpq(1), b), (fmpq(1), gap)] if node.func.id == "Max" else
                              [(fmpq(1), out), (fmpq(-1), gap)])
            return out
        raise KernelError(f"{ast.unparse(node)!r} is not a ReLU expression (integers, x1, …, +, −, "
                          "products by constants, Max, Min, Abs)")


def combine(terms: list) -> dict:
    """Σ w·F over (w, F), zero coefficients dropped."""
    out: dict = {}
    for w, F in terms:
        for k, c in F.items():
            out[k] = out.get(k, fmpq(0)) + w * c
    return {k: c for k, c in out.items() if c != 0}
