"""``certify fuzz``: property-based runs of the registered theorems.

For each theorem, Hypothesis draws instances — parameters inside the TOML domains (the small end
of integer domains and the neighbourhood of each default preferred), and, for theorems that take
a target, a target: the default, a library target, a random Lipschitz CPwL function
``c + Σ a_i |w_i·x − t_i|`` with its Lipschitz constant, or a sympy composition whose modulus
the target compiler certifies.  Each instance is certified in a child process (killed when it
outlives the budget); work over a method's stated budget is refused before it starts, as
``certify run`` refuses it, and is not counted.  A VIOLATED (or a crash) is shrunk by
Hypothesis to a minimal instance, reported with its exact witness.

An entry marked ``erratum`` (a statement known to be wrong as printed) is expected to come out
VIOLATED: finding its witness is the expected result, not finding one is a failure.  Exit status:
1 when a theorem correct as printed came out VIOLATED, crashed, or an erratum's witness was not
found; 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional

from constructive.errors import UserError

__all__ = ["fuzz_theorem", "instances", "FuzzResult", "Outcome", "register"]

SMALL_INT_SPAN = 6  # integers are drawn from [min, min + this] or near the default
MAX_DENOMINATOR = 16  # drawn rationals have small denominators (cheap exact arithmetic)
GENERATE_SHARE = 0.75  # of the budget spent drawing; the rest is kept for shrinking a finding
BAD = ("VIOLATED", "ERROR")
MIN_START_S = 1.0  # no instance is started with less of the budget left
SHOWN_CHARS = 48  # a long exact number is shown cut (display only; --json has it whole)


@dataclass
class Outcome:
    """One certified (or refused, or timed-out) instance."""

    params: dict
    target: Optional[str]
    lipschitz: Optional[str]
    verdict: str  # a verdict, or CANNOT-PROCEED, REFUSED, TIMEOUT, ERROR
    detail: str = ""
    witness: Optional[dict] = None
    seconds: float = 0.0

    def instance(self) -> str:
        text = " ".join(f"{k}={v}" for k, v in self.params.items())
        if self.target is not None:
            text += f" target={self.target}" + (f" lipschitz={self.lipschitz}" if self.lipschitz else "")
        return text or "(no parameters)"


@dataclass
class FuzzResult:
    theorem: str
    erratum: bool
    outcomes: list = field(default_factory=list)
    minimal: Optional[Outcome] = None  # the shrunk VIOLATED / ERROR instance, if any
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(o.verdict == verdict for o in self.outcomes)

    @property
    def status(self) -> str:
        errors = [o for o in self.outcomes if o.verdict == "ERROR"]
        if self.erratum:
            if self.minimal is not None and self.minimal.verdict == "VIOLATED":
                return "erratum: witness found (expected)"
            return "ERROR" if errors else "erratum: NO witness found"
        if self.minimal is not None:
            return self.minimal.verdict
        return "ERROR" if errors else "no violation"

    @property
    def failed(self) -> bool:
        return self.status in ("VIOLATED", "ERROR", "erratum: NO witness found")


# --------------------------------------------------------------------------------------------
# strategies


def _parameter_strategy(p: Any) -> Any:
    from hypothesis import strategies as st

    if p.kind == "choice":
        ordered = [str(p.default)] + [str(c) for c in p.choices if str(c) != str(p.default)]
        return st.sampled_from(ordered)
    if p.kind == "bits":
        return st.text(alphabet="01", min_size=1, max_size=8)
    if p.kind == "boxes":  # the presets; unions of boxes are drawn once the dimension is known
        return st.sampled_from([str(p.default)] + [str(c) for c in p.choices if str(c) != str(p.default)])
    lo, hi, default = Fraction(p.min), Fraction(p.max), Fraction(str(p.default))
    if p.kind == "int":
        lo, hi, default = int(lo), int(hi), int(default)
        return st.one_of(st.integers(lo, min(hi, lo + SMALL_INT_SPAN)),
                         st.integers(max(lo, default - 2), min(hi, default + 2))).map(str)
    if default > 0:
        near = (max(lo, default / 4), min(hi, default * 4))
    elif default < 0:
        near = (max(lo, default * 4), min(hi, default / 4))
    else:
        near = (max(lo, Fraction(-1)), min(hi, Fraction(1)))
    return st.one_of(st.just(default), _small_fractions(*near), st.sampled_from([lo, hi]),
                     _small_fractions(lo, hi)).map(str)


def _box_union_strategy(p: Any, axes: int) -> Any:
    """A preset of ``p`` or a union of 1 to 3 (possibly overlapping) boxes with ends k/8."""
    from hypothesis import strategies as st

    ends = st.lists(st.integers(0, 8), min_size=2, max_size=2, unique=True).map(sorted)
    box = st.lists(ends, min_size=axes, max_size=axes).map(
        lambda box: "x".join(f"[{Fraction(a, 8)},{Fraction(b, 8)}]" for a, b in box))
    union = st.lists(box, min_size=1, max_size=min(3, p.max_boxes)).map(";".join)
    return st.one_of(_parameter_strategy(p), union)


def _small_fractions(lo: Fraction, hi: Fraction) -> Any:
    """Fractions of denominator <= MAX_DENOMINATOR in [lo, hi] (its ends when none lies inside)."""
    from hypothesis import strategies as st

    q = MAX_DENOMINATOR
    inner_lo, inner_hi = Fraction(-((-lo * q).numerator // (-lo * q).denominator), q), \
        Fraction((hi * q).numerator // (hi * q).denominator, q)
    if inner_lo > inner_hi:
        return st.sampled_from([lo, hi])
    return st.fractions(inner_lo, inner_hi, max_denominator=q)


LIBRARY_SPECS = ("abs", "sine:k=1", "sine:k=2", "sine:k=3", "affine", "sqrt", "square", "dist",
                 "const:v=1/3", "peak2d", "wave2d", "dist3d", "ridge3d")


def _coordinates(dim: int) -> list[str]:
    return [f"x{i + 1}" for i in range(dim)]


def _cpwl_target(draw: Callable, dim: int) -> tuple[str, str]:
    """``c + Σ a_i |w_i·x − t_i|`` and a Lipschitz constant above
    Σ|a_i|‖w_i‖₁ ≥ Σ|a_i|‖w_i‖₂."""
    from hypothesis import strategies as st

    small = st.fractions(-1, 1, max_denominator=8).filter(lambda q: q != 0)
    c0 = draw(st.fractions(0, 1, max_denominator=8))
    terms, lam = [], Fraction(0)
    for _ in range(draw(st.integers(1, 3))):
        a = draw(small)
        w = draw(st.lists(st.sampled_from([Fraction(1), Fraction(-1), Fraction(1, 2), Fraction(0)]),
                          min_size=dim, max_size=dim).filter(any))
        t = draw(st.fractions(0, 1, max_denominator=8))
        inner = " + ".join(f"({wi})*{x}" for wi, x in zip(w, _coordinates(dim)) if wi)
        terms.append(f"({a})*Abs({inner} - ({t}))")
        lam += abs(a) * sum(abs(wi) for wi in w)
    # declared with 1/8 to spare: at exactly the sup of the gradient the compiler's ball
    # bisection cannot close the check, and an unchecked constant only gives CONDITIONAL
    return f"{c0} + " + " + ".join(terms), str(lam * Fraction(9, 8))


def _composition_target(draw: Callable, dim: int) -> str:
    """A smooth or Lipschitz composition; its modulus is computed and certified by the target
    compiler (a formula it cannot bound is refused there, and the example is skipped)."""
    from hypothesis import strategies as st

    coef = st.fractions(-2, 2, max_denominator=4)
    inner = " + ".join(f"({draw(coef)})*{x}" for x in _coordinates(dim)) + f" + ({draw(coef)})"
    outer = draw(st.sampled_from(["sin({u})/2", "cos({u})/3", "exp(-({u})**2)", "Abs(sin({u}))/2",
                                  "({u})**2/8", "sqrt(({u})**2 + 1)/4", "1/(2 + sin({u}))"]))
    return outer.format(u=inner)


def instances(thm: Any) -> Any:
    """The Hypothesis strategy of ``thm``'s instances: ``(params, target spec, lipschitz)``."""
    from hypothesis import strategies as st

    from certify.certificate import make_target_for

    names = list(thm.parameters)
    param_st = st.fixed_dictionaries({n: _parameter_strategy(thm.parameters[n]) for n in names})
    takes_target = bool(thm.target)

    @st.composite
    def draw_instance(draw: Callable) -> tuple:
        params = draw(param_st)
        for name in names:  # a union of boxes has as many axes as its dim parameter's value
            p = thm.parameters[name]
            if p.kind == "boxes" and str(params.get(p.dim, "")).isdigit():
                params[name] = draw(_box_union_strategy(p, int(params[p.dim])))
        if not takes_target:
            return params, None, None
        try:
            dim = make_target_for(thm, thm.parse_params(params), None).dim
        except UserError:
            return params, None, None  # the run refuses the parameters anyway
        kind = draw(st.sampled_from(["default", "library", "cpwl", "composition"]))
        if kind == "default":
            return params, None, None
        if kind == "library":
            return params, draw(st.sampled_from(_library_for(dim))), None
        if kind == "cpwl":
            expr, lam = _cpwl_target(draw, dim)
            return params, expr, lam
        return params, _composition_target(draw, dim), None

    return draw_instance()


_LIBRARY_BY_DIM: dict[int, list[str]] = {}


def _library_for(dim: int) -> list[str]:
    from constructive.targets import make_target

    if dim not in _LIBRARY_BY_DIM:
        ok = []
        for spec in LIBRARY_SPECS:
            try:
                make_target(spec, dim)
            except UserError:
                continue
            ok.append(spec)
        _LIBRARY_BY_DIM[dim] = ok or ["abs"]
    return _LIBRARY_BY_DIM[dim]


# --------------------------------------------------------------------------------------------
# one instance, in a child process


def _certify_in_child(conn: Any, theorem_id: str, params: dict, target: Optional[str],
                      lipschitz: Optional[str]) -> None:
    from certify.certificate import run_theorem
    from certify.method import AnalysisFailed
    from constructive.tuning import TuningError

    try:
        cert = run_theorem(theorem_id, params, target, lipschitz)
        witnesses = cert.get("witnesses") or []
        out = {"verdict": cert["verdict"], "witness": witnesses[0] if witnesses else None,
               "detail": f"error in [{cert['error']['lower']}, {cert['error']['upper']}], "
                         f"bound {cert['error']['bound']}"
                         + (f"; {'; '.join(cert['reasons'])}" if cert["reasons"] else "")}
    except UserError as exc:
        out = {"verdict": "REFUSED", "detail": str(exc)}
    except (AnalysisFailed, TuningError) as exc:
        out = {"verdict": "CANNOT-PROCEED", "detail": str(exc)}
    except BaseException as exc:  # a crash is a finding: it is reported, never hidden
        out = {"verdict": "ERROR", "detail": f"{type(exc).__name__}: {exc}"}
    conn.send(json.loads(json.dumps(out, default=str)))
    conn.close()


def certify_instance(theorem_id: str, params: dict, target: Optional[str],
                     lipschitz: Optional[str], timeout: float) -> Outcome:
    """Certify one instance in a forked child (the registry and imports are shared), killed
    after ``timeout`` seconds."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_certify_in_child, args=(send, theorem_id, params, target, lipschitz),
                        daemon=True)
    t0 = time.monotonic()
    child.start()
    send.close()
    try:
        if receive.poll(max(timeout, 0.01)):
            try:
                res = receive.recv()
            except EOFError:
                child.join()
                res = {"verdict": "ERROR", "detail": f"the certifying process died (exit {child.exitcode})"}
        else:
            res = {"verdict": "TIMEOUT", "detail": f"not finished in {timeout:.1f} s"}
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    return Outcome(dict(params), target, lipschitz, res["verdict"], res.get("detail", ""),
                   res.get("witness"), round(time.monotonic() - t0, 3))


# --------------------------------------------------------------------------------------------
# one theorem


def fuzz_theorem(thm: Any, examples: int = 25, seed: int = 0, budget: float = 60.0,
                 on_outcome: Optional[Callable[[Outcome], None]] = None) -> FuzzResult:
    """Draw up to ``examples`` certified instances of ``thm`` within ``budget`` seconds; shrink
    the first VIOLATED (or crash) to a minimal instance."""
    from hypothesis import HealthCheck, Phase, assume, find, settings
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    result = FuzzResult(thm.id, bool(thm.erratum))
    seen: dict[str, Outcome] = {}
    start = time.monotonic()
    found_at: list[float] = []
    precheck = thm.certification().precheck
    wanted = ("VIOLATED",) if thm.erratum else BAD

    def condition(inst: tuple) -> bool:
        params, target, lipschitz = inst
        key = json.dumps(inst, sort_keys=True)
        if key in seen:
            return seen[key].verdict in wanted
        # drawing stops at a share of the budget; shrinking a finding may use the rest
        limit = budget if found_at else budget * GENERATE_SHARE
        left = limit - (time.monotonic() - start)
        if left < MIN_START_S:  # an instance started now could only time out
            return False
        try:  # as certify run does: outside a domain or over a stated budget is refused
            parsed = thm.parse_params(params)
            if precheck is not None:
                precheck(parsed)
        except UserError:
            assume(False)
        outcome = certify_instance(thm.id, params, target, lipschitz, left)
        if outcome.verdict == "REFUSED":
            assume(False)
        seen[key] = outcome
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
        if outcome.verdict in wanted and not found_at:
            found_at.append(time.monotonic())
        return outcome.verdict in wanted

    config = settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
                      report_multiple_bugs=False)
    try:
        minimal = find(instances(thm), condition, settings=config,
                       random=random.Random(f"{seed}:{thm.id}"))
        result.minimal = seen.get(json.dumps(minimal, sort_keys=True))
    except (NoSuchExample, Unsatisfiable):
        pass
    result.seconds = round(time.monotonic() - start, 2)
    return result


# --------------------------------------------------------------------------------------------
# the command


def _private_hypothesis_storage() -> None:
    """Hypothesis must not create ./.hypothesis in the user's directory (a temporary one)."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        import atexit
        import shutil
        import tempfile

        path = tempfile.mkdtemp(prefix="certify-fuzz-hypothesis-")
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = path
        atexit.register(shutil.rmtree, path, True)


def _witness_text(o: Optional[Outcome]) -> str:
    if o is None or not o.witness:
        return ""
    w = o.witness
    x = ", ".join(map(_cut, w.get("x", []))) if isinstance(w, dict) else _cut(w)
    err = _cut(w.get("error", w.get("error_lower", ""))) if isinstance(w, dict) else ""
    return f"x = ({x}): error {err}" if err else f"x = ({x})"


def _cut_numbers(text: str) -> str:
    return " ".join(_cut(word) for word in text.split(" "))[:400]


def _cut(value: Any) -> str:
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def cmd_fuzz(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from certify.registry import default_registry

    if args.all == bool(args.id):
        raise UserError("give one theorem id or --all (not both)")
    if not 1 <= args.examples <= 100_000:
        raise UserError(f"--examples {args.examples} is not allowed; use 1 to 100000")
    if not 0 < args.budget <= 86_400:
        raise UserError(f"--budget {args.budget} is not allowed; use 0 < SECONDS <= 86400")
    if args.json:
        parent = os.path.dirname(os.path.abspath(args.json))
        if os.path.isdir(args.json) or not os.path.isdir(parent):
            raise UserError(f"--json {args.json!r}: give a file name in an existing directory")
    _private_hypothesis_storage()
    reg = default_registry()
    theorems = list(reg.theorems.values()) if args.all else [reg.get(args.id)]
    out, err = Console(), Console(stderr=True)
    results: list[FuzzResult] = []
    interrupted = False
    for i, thm in enumerate(theorems, 1):
        err.print(f"[{i}/{len(theorems)}] fuzzing {thm.id} ({args.examples} examples, "
                  f"{args.budget:g} s)", highlight=False)

        def show(o: Outcome, thm: Any = thm) -> None:
            if o.verdict != "HOLDS":
                err.print(f"  {o.verdict}: {thm.id} {o.instance()}"
                          + (f"  witness {_witness_text(o)}" if o.witness else "")
                          + (f"  ({_cut_numbers(o.detail)})" if o.detail else ""), highlight=False)

        try:
            r = fuzz_theorem(thm, args.examples, args.seed, args.budget, on_outcome=show)
        except KeyboardInterrupt:  # the child is already killed; report what was finished
            err.print("certify fuzz: interrupted; the table shows the theorems finished so far")
            interrupted = True
            break
        results.append(r)
        err.print(f"  → {r.status}: {len(r.outcomes)} certified, {r.count('HOLDS')} HOLDS, "
                  f"{r.seconds:g} s", highlight=False)
    table = Table(title=f"certify fuzz (seed {args.seed})")
    for col in ("theorem", "certified", "HOLDS", "other", "result", "minimal instance", "witness"):
        table.add_column(col, overflow="fold",
                         no_wrap=col in ("theorem", "certified", "HOLDS"))
    for r in results:
        other = {}
        for o in r.outcomes:
            if o.verdict != "HOLDS":
                other[o.verdict] = other.get(o.verdict, 0) + 1
        style = "bold red" if r.failed else ("green" if r.minimal is None or r.erratum else "yellow")
        table.add_row(r.theorem, str(len(r.outcomes)), str(r.count("HOLDS")),
                      ", ".join(f"{v} {n}" for v, n in other.items()),
                      f"[{style}]{r.status}[/]", r.minimal.instance() if r.minimal else "",
                      _witness_text(r.minimal))
    out.print(table)
    if args.json:
        from certify.report import write_atomic

        write_atomic(args.json, json.dumps(
            [{"theorem": r.theorem, "erratum": r.erratum, "status": r.status, "failed": r.failed,
              "seconds": r.seconds, "minimal": asdict(r.minimal) if r.minimal else None,
              "outcomes": [asdict(o) for o in r.outcomes]} for r in results], indent=1) + "\n")
        out.print(f"results written to {args.json}")
    failed = [r.theorem for r in results if r.failed]
    if failed:
        err.print(f"certify fuzz: {len(failed)} theorem(s) failed: {', '.join(failed)}", highlight=False)
    return 1 if failed else (130 if interrupted else 0)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("fuzz", help="property-based runs: random instances and targets, "
                              "every non-HOLDS reported, a VIOLATED shrunk to a minimal instance")
    p.add_argument("id", nargs="?", help="the theorem id (or --all)")
    p.add_argument("--all", action="store_true", help="every registered theorem in turn")
    p.add_argument("--examples", type=int, default=25, help="certified instances per theorem (default 25)")
    p.add_argument("--seed", type=int, default=0, help="the random seed (default 0)")
    p.add_argument("--budget", type=float, default=60.0,
                   help="seconds per theorem, drawing and shrinking (default 60)")
    p.add_argument("--json", metavar="FILE", help="write every outcome as JSON")
    p.set_defaults(func=cmd_fuzz)
