"""Formulas and target expressions, parsed with ``ast`` and walked here: never evaluated as code.

A value is an exact ``fmpq`` while every operation keeps it rational, and an ``arb`` ball
otherwise.  ``floor``/``ceiling`` of a ball are decided by raising the precision; an undecidable
one is an error, never a guess.  The same walker evaluates target expressions on boxes: each
variable is then a ball covering its interval, so the result encloses f on the whole box.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any, Callable, Mapping, Optional

from flint import arb, fmpq, fmpq_mpoly, fmpq_poly, fmpz

from certify.kernel.errors import KernelError

Value = Any  # fmpq or arb
MAX_TEXT = 4000
MAX_NODES = 400
MAX_EXPONENT = 10**6
MAX_TERMS = 10**5  # terms of one Sum


def parse(text: str, names: set[str], where: str) -> ast.AST:
    """The expression tree of ``text``; only arithmetic, comparisons, known names, subscripts of
    the statement's data lists and ``Sum(term, i, a, b)`` (i from a to b, both included)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise KernelError(f"{where}: expression is not a string of at most {MAX_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise KernelError(f"{where}: {text!r} is not an expression") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise KernelError(f"{where}: expression has more than {MAX_NODES} nodes")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load,
               ast.Tuple, ast.Compare, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub,
               ast.UAdd, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.BitAnd, ast.BitOr, ast.Invert,
               ast.Subscript)
    names = names | {n.args[1].id for n in nodes if isinstance(n, ast.Call) and len(n.args) == 4
                     and getattr(n.func, "id", "") == "Sum" and isinstance(n.args[1], ast.Name)}
    for node in nodes:
        if not isinstance(node, allowed):
            raise KernelError(f"{where}: {type(node).__name__} is not allowed in {text!r}")
        if isinstance(node, ast.Constant) and node.value is not True and (
                isinstance(node.value, bool) or not isinstance(node.value, int)):
            raise KernelError(f"{where}: only integer literals are allowed in {text!r}")
        if isinstance(node, ast.Name) and node.id not in names | set(FUNCTIONS) | CONSTANTS:
            raise KernelError(f"{where}: unknown name {node.id!r} in {text!r}")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords
                                           or node.func.id not in FUNCTIONS):
            raise KernelError(f"{where}: only the functions {sorted(FUNCTIONS)} may be called")
    return tree.body


# ------------------------------------------------------------------------------------------
# arithmetic on exact-or-ball values


def ball(v: Value) -> arb:
    if isinstance(v, LogOf):
        return v.ball()
    return v if isinstance(v, arb) else arb(v)


def _exact_root(q: fmpq, k: int) -> Optional[fmpq]:
    """q^(1/k) when it is rational."""
    if q < 0 or k <= 0:
        return None
    p, r = fmpz(q.p), fmpz(q.q)
    a, b = p.root(k), r.root(k)
    return fmpq(a, b) if a ** k == p and b ** k == r else None


def power(x: Value, y: Value) -> Value:
    if isinstance(x, (fmpq_poly, fmpq_mpoly)):  # a polynomial in the input: natural powers only
        if not (isinstance(y, fmpq) and y.q == 1 and 0 <= y.p <= 64):
            raise KernelError(f"a polynomial to the power {y}")
        return x ** int(y.p)
    if isinstance(x, fmpq) and isinstance(y, fmpq):
        if abs(y.p) > MAX_EXPONENT:
            raise KernelError(f"exponent {y} is too large")
        if y.q == 1:
            if x == 0 and y < 0:
                raise KernelError("0 to a negative power")
            return x ** int(y.p)
        root = _exact_root(x, int(y.q))
        if root is not None:
            return root ** int(y.p)
    if isinstance(y, fmpq) and y.q == 1:
        return _integer_power(ball(x), int(y.p))
    return ball(x) ** ball(y)


def _integer_power(x: arb, k: int) -> arb:
    """x^k by squaring (arb's own power is nan on a ball around 0); an even power of |x|."""
    if k < 0:
        return 1 / _integer_power(x, -k)
    base, out = (abs(x) if k % 2 == 0 else x), arb(1)
    while k:
        if k & 1:
            out *= base
        base, k = base * base, k >> 1
    return out


class LogOf:
    """log(x) of an exact x > 0, kept unevaluated so that log(a)/log(b) can be decided exactly
    (floor and ceiling of such a quotient are common in architecture formulas)."""

    def __init__(self, x: fmpq):
        self.x = x

    def ball(self) -> arb:
        return arb(self.x).log()


def number(v: Value) -> Value:
    return v.ball() if isinstance(v, LogOf) else v


def _log(x: Value, base: Value = None) -> Value:
    if base is None and isinstance(x, fmpq) and x > 0:
        return LogOf(x)
    if isinstance(x, fmpq) and isinstance(base, fmpq) and x > 0 and base > 1:
        # log_b(x) is rational (= j/k) only when x^k = b^j; small k cover the formulas in use
        for k in range(1, 7):
            xk = x ** k
            j, t = 0, fmpq(1)
            step = base if xk >= 1 else 1 / base
            while (t < xk if xk >= 1 else t > xk) and abs(j) < 4096:
                t *= step
                j += 1 if xk >= 1 else -1
            if t == xk:
                return fmpq(j, k)
    if base is None:
        return ball(x).log()
    return ball(x).log() / ball(base).log()


def _integer_part(x: Value, up: bool) -> fmpq:
    """floor or ceiling; of a ball only when the ball decides it (callers work at 256 bits)."""
    if isinstance(x, fmpq):
        n = x.p // x.q
        return fmpq(n + 1 if up and n * x.q != x.p else n)
    f = x.ceil() if up else x.floor()
    n = f.unique_fmpz() if f.is_finite() else None
    if n is None:
        raise KernelError(f"cannot decide the integer part of {x}")
    return fmpq(int(n))


def _extreme(name: str) -> Callable[..., Value]:
    """Min or Max: exact on rationals, arb's own min/max on balls."""
    def pick(*xs: Value) -> Value:
        if len(xs) == 1 and isinstance(xs[0], list):
            xs = tuple(xs[0])  # the largest or smallest entry of a data list
        if not xs or any(isinstance(x, list) for x in xs):
            raise KernelError(f"{name} of an empty list or of a list among numbers")
        if all(isinstance(x, fmpq) for x in xs):
            return (min if name == "min" else max)(xs)
        out = ball(xs[0])
        for x in xs[1:]:
            out = getattr(out, name)(ball(x))
        return out
    return pick


def _abs(x: Value) -> Value:
    return abs(x)


def _sqrt(x: Value) -> Value:
    if isinstance(x, fmpq):
        return power(x, fmpq(1, 2))
    x = ball(x)
    # a ball that dips below 0 around a value that cannot (x1**2 + x2**2 near 0): its
    # non-negative part; a truly negative argument is caught where the target is checked
    return (x.nonnegative_part() if x.upper() >= 0 else x).sqrt()


def _factorial(n: Value) -> fmpq:
    if not (isinstance(n, fmpq) and n.q == 1 and 0 <= n <= 1000):
        raise KernelError(f"factorial of {n}: a natural number up to 1000 only")
    out = 1
    for k in range(2, int(n.p) + 1):
        out *= k
    return fmpq(out)


def _ball_fn(name: str) -> Callable[[Value], arb]:
    return lambda x: getattr(ball(x), name)()


FUNCTIONS: dict[str, Callable[..., Value]] = {
    "sqrt": _sqrt, "log": _log, "Abs": _abs, "Min": _extreme("min"), "Max": _extreme("max"),
    "floor": lambda x: _integer_part(x, False), "ceiling": lambda x: _integer_part(x, True),
    "Rational": lambda p, q: p / q, "factorial": lambda n: _factorial(n),
    "sin": _ball_fn("sin"), "cos": _ball_fn("cos"), "exp": _ball_fn("exp"),
    "tanh": _ball_fn("tanh"), "atan": _ball_fn("atan"),
    "Piecewise": None,  # handled in the walker: its arguments are (value, condition) pairs
    "Sum": None,        # handled in the walker: it binds its index
    "omega": None,      # handled in the walker: the target's modulus lam * r**alpha
}
CONSTANTS = {"pi", "E"}

Tri = Optional[bool]  # True / False / undecided (on a box)


def _compare(op: ast.cmpop, a: Value, b: Value) -> Tri:
    if isinstance(a, fmpq) and isinstance(b, fmpq):
        return {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b,
                ast.Eq: a == b}[type(op)]
    a, b = ball(a), ball(b)
    if isinstance(op, (ast.Lt, ast.LtE)):
        a, b = b, a  # a > b or a >= b from here
    if isinstance(op, ast.Eq):
        return None if a.overlaps(b) else False
    strict = isinstance(op, (ast.Lt, ast.Gt))
    if (a > b) if strict else (a >= b):
        return True
    if (a <= b) if strict else (a < b):
        return False
    return None


class Evaluator:
    """Walks a parsed expression with the variables bound to exact values or balls."""

    def __init__(self, env: Mapping[str, Value], modulus: Optional[tuple[fmpq, fmpq]] = None):
        self.env = dict(env)
        self.modulus = modulus

    def value(self, node: ast.AST) -> Value:
        if isinstance(node, ast.Constant):
            if node.value is True:
                raise KernelError("True is a condition, not a number")
            return fmpq(node.value)
        if isinstance(node, ast.Name):
            if node.id == "pi":
                return arb.pi()
            if node.id == "E":
                return arb(1).exp()
            if node.id not in self.env:
                raise KernelError(f"no value for {node.id!r}")
            return self.env[node.id]
        if isinstance(node, ast.Subscript):
            seq, i = self.value(node.value), self.value(node.slice)
            if not isinstance(seq, list) or not isinstance(i, fmpq) or i.q != 1 \
                    or not 0 <= i < len(seq):
                raise KernelError("a subscript needs a data list and an integer index inside it")
            return seq[int(i.p)]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -number(self.value(node.operand))
            if isinstance(node.op, ast.UAdd):
                return number(self.value(node.operand))
            raise KernelError("a condition is not a number")
        if isinstance(node, ast.BinOp):
            a, b = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Div) and isinstance(a, LogOf) and isinstance(b, LogOf) \
                    and b.x > 1:
                return _log(a.x, b.x)
            a, b = number(a), number(b)
            if isinstance(a, list) or isinstance(b, list):
                raise KernelError("a data list is not a number (subscript it)")
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                if isinstance(b, fmpq) and b == 0 or isinstance(b, (fmpq_poly, fmpq_mpoly)):
                    raise KernelError("division by zero or by a polynomial")
                return a / b
            if isinstance(node.op, ast.Pow):
                return power(a, b)
            raise KernelError("a condition is not a number")
        if isinstance(node, ast.Call):
            name = node.func.id
            if name == "Piecewise":
                return self.piecewise(node.args)
            if name == "Sum":
                return self.sum(node.args)
            if name == "omega":
                if self.modulus is None or len(node.args) != 1:
                    raise KernelError("omega needs the target's modulus and one argument")
                lam, alpha = self.modulus
                return lam * power(self.value(node.args[0]), alpha)
            return FUNCTIONS[name](*[number(self.value(a)) for a in node.args])
        raise KernelError(f"{type(node).__name__} is not a number")

    def condition(self, node: ast.AST) -> Tri:
        if isinstance(node, ast.Constant) and node.value is True:
            return True
        if isinstance(node, ast.Compare):
            left = number(self.value(node.left))
            result: Tri = True
            for op, right_node in zip(node.ops, node.comparators):
                right = number(self.value(right_node))
                r = _compare(op, left, right)
                if r is False:
                    return False
                if r is None:
                    result = None
                left = right
            return result
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            a, b = self.condition(node.left), self.condition(node.right)
            if isinstance(node.op, ast.BitAnd):
                return False if False in (a, b) else (True if a and b else None)
            return True if True in (a, b) else (False if a is False and b is False else None)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            a = self.condition(node.operand)
            return None if a is None else not a
        raise KernelError(f"{type(node).__name__} is not a condition")

    def sum(self, args: list) -> Value:
        """Sum(term, i, a, b): the term at i = a, a + 1, …, b (none when b < a)."""
        if len(args) != 4 or not isinstance(args[1], ast.Name):
            raise KernelError("Sum takes (term, index name, first, last)")
        a, b = (number(self.value(x)) for x in args[2:])
        if not (isinstance(a, fmpq) and isinstance(b, fmpq) and a.q == 1 and b.q == 1) \
                or b - a >= MAX_TERMS:
            raise KernelError(f"Sum needs integer limits at most {MAX_TERMS} apart")
        saved, total = self.env.get(args[1].id), fmpq(0)
        for i in range(int(a.p), int(b.p) + 1):
            self.env[args[1].id] = fmpq(i)
            total = total + number(self.value(args[0]))
        self.env.pop(args[1].id, None)
        if saved is not None:
            self.env[args[1].id] = saved
        return total

    def piecewise(self, args: list) -> Value:
        """The first branch whose condition holds; undecided conditions join their branches."""
        out: Optional[arb] = None
        for pair in args:
            if not isinstance(pair, ast.Tuple) or len(pair.elts) != 2:
                raise KernelError("Piecewise takes (value, condition) pairs")
            c = self.condition(pair.elts[1])
            if c is False:
                continue
            v = self.value(pair.elts[0])
            if c is True:
                return v if out is None else out.union(ball(v))
            out = ball(v) if out is None else out.union(ball(v))
        if out is None:
            raise KernelError("Piecewise with no branch that applies")
        return arb.nan()  # some points may fall through every branch: f undefined there


def evaluate(text: str, env: Mapping[str, Value], where: str,
             modulus: Optional[tuple[fmpq, fmpq]] = None, lists: bool = False) -> Value:
    """The value of a formula; ``lists``: a data list of rationals is a value too."""
    tree = _parsed(text, frozenset(env), where)
    value = number(Evaluator(env, modulus).value(tree))
    if isinstance(value, list) and not (lists and all(isinstance(v, fmpq) for v in value)):
        raise KernelError(f"{where}: {text!r} is a data list, not a number")
    return value


@lru_cache(maxsize=512)
def _parsed(text: str, names: frozenset, where: str) -> ast.AST:
    # a claim.pieces formula is walked once per box: parse it once (the tree is never mutated)
    return parse(text, set(names), where)
