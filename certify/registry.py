"""Theorem statements as data: loads and validates ``proofs/<paper>/claims.toml`` (see
``proofs/SCHEMA.md``).

Formulas are parsed with sympy into exact expressions over the parameter symbols and the
modulus ``omega``; they are evaluated exactly or as arb balls, never as floats.  The lemmas each
entry uses form a networkx DAG over all loaded entries.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.resources
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

import networkx as nx
import sympy
from flint import fmpq

from certify import schema
from certify.kernel import formula as kernel_formula
from certify.kernel.errors import KernelError
from certify.method import Method
from certify.methods import METHODS as CORE
from constructive.errors import UserError

# the claims ship as the package ``proofs`` beside ``certify`` (source tree and wheel alike)
PROOFS = Path(__file__).resolve().parent.parent / "proofs"
OMEGA = sympy.Function("omega")
TARGET_SYMBOLS = ("alpha", "lam")  # the target's Hölder exponent and constant
KINDS = {"int", "rational", "choice", "bits", "boxes"}


class RegistryError(Exception):
    """A malformed proofs/<paper>/claims.toml entry (a bug in the project's data, not a user error)."""


# a plain decimal, fraction or scientific number; longer text or larger exponents are refused
# before Fraction() so that e.g. 1e100000000 never materialises a huge integer
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(/\d+)?\Z")
MAX_NUMBER_CHARS = 100
MAX_PIECES = 2 ** 17  # boxes of a claim.pieces statement (the kernel has the same limit)
MAX_EXPONENT = 100


class _TooLarge(ValueError):
    """A number literal too long, or with too large an exponent, to be turned into a Fraction."""


def _number(text: str) -> Fraction:
    """An exact rational from a short number literal; ValueError otherwise."""
    m = _NUMBER_RE.match(text)
    if len(text) > MAX_NUMBER_CHARS:
        raise _TooLarge(f"longer than {MAX_NUMBER_CHARS} characters")
    if not m:
        raise ValueError(text)
    if m.group(3) and abs(int(m.group(3)[1:])) > MAX_EXPONENT:
        raise _TooLarge(f"exponent beyond ±{MAX_EXPONENT}")
    return Fraction(text)


Box = list[tuple[Fraction, Fraction]]
MAX_BOXES_TEXT = 8000  # characters of a union of boxes; past it the value is refused unread


def parse_box_union(text: str, max_boxes: int, max_denominator: int) -> list[Box]:
    """The boxes of ``[lo,hi]x[lo,hi];...`` (a union of closed boxes in the unit cube): rational
    ends 0 <= lo < hi <= 1 of denominator <= ``max_denominator``, every box with as many axes,
    at most ``max_boxes`` boxes.  ValueError with the reason otherwise."""
    text = "".join(text.split())
    if len(text) > MAX_BOXES_TEXT:
        raise ValueError(f"longer than {MAX_BOXES_TEXT} characters")
    parts = text.split(";")
    if len(parts) > max_boxes:
        raise ValueError(f"{len(parts)} boxes, more than {max_boxes}")
    boxes: list[Box] = []
    for part in parts:
        box: Box = []
        for axis in part.split("x"):
            if len(axis) < 2 or axis[0] != "[" or axis[-1] != "]" or axis.count(",") != 1:
                raise ValueError(f"{axis[:40]!r} is not an interval [lo,hi]")
            ends = []
            for end in axis[1:-1].split(","):
                try:
                    ends.append(_number(end))
                except (ValueError, ZeroDivisionError):
                    raise ValueError(f"{end[:40]!r} is not a rational number") from None
            lo, hi = ends
            if not 0 <= lo < hi <= 1:
                raise ValueError(f"{axis[:40]} is not an interval 0 <= lo < hi <= 1")
            if max(lo.denominator, hi.denominator) > max_denominator:
                raise ValueError(f"{axis[:40]} has a denominator above {max_denominator}")
            box.append((lo, hi))
        if boxes and len(box) != len(boxes[0]):
            raise ValueError(f"the boxes have {len(boxes[0])} and {len(box)} axes")
        boxes.append(box)
    return boxes


def format_box_union(boxes: list[Box]) -> str:
    """The canonical text of a union of boxes (normalised rationals, no spaces, the given order)."""
    return ";".join("x".join(f"[{lo},{hi}]" for lo, hi in box) for box in boxes)


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    default: Any
    min: Optional[Fraction] = None
    max: Optional[Fraction] = None
    choices: tuple = ()
    description: str = ""
    max_boxes: int = 0  # kind boxes: at most this many boxes ...
    max_denominator: int = 0  # ... with ends of at most this denominator ...
    dim: str = ""  # ... and as many axes as the value of this int parameter

    @property
    def domain(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind == "boxes":
            named = f"one of {', '.join(map(str, self.choices))} or " if self.choices else ""
            return (f"{named}a union of at most {self.max_boxes} boxes '[lo,hi]x[lo,hi];...' in "
                    f"[0,1]^{self.dim or 'd'} (one [lo,hi] per axis), rational ends 0 <= lo < hi <= 1 "
                    f"of denominator <= {self.max_denominator}")
        if self.kind == "bits":
            return "a string of 0/1 digits"
        lo = "" if self.min is None else f"{self.min} ≤ "
        hi = "" if self.max is None else f" ≤ {self.max}"
        what = "an integer" if self.kind == "int" else "a rational number"
        return f"{what} {lo}{self.name}{hi}".replace(f"{what} {self.name}", f"{what} {self.name}")

    def parse(self, raw: Any) -> Any:
        text = str(raw).strip()
        if self.kind == "choice":
            if text not in map(str, self.choices):
                raise UserError(f"parameter {self.name}={text!r} is not allowed; domain: {self.domain}")
            return text
        if self.kind == "boxes":
            if text in map(str, self.choices):
                return text
            try:
                boxes = parse_box_union(text, self.max_boxes, self.max_denominator)
            except ValueError as why:
                raise UserError(f"parameter {self.name}={text[:60]!r} is not allowed ({why}); "
                                f"domain: {self.domain}") from None
            return format_box_union(boxes)
        if self.kind == "bits":
            if not text or set(text) - {"0", "1"}:
                raise UserError(f"parameter {self.name}={text!r} is not allowed; domain: {self.domain}")
            return text
        try:
            value = _number(text)
        except _TooLarge as why:
            raise UserError(f"parameter {self.name}={text[:40]} is outside its domain ({why}): "
                            f"{self.domain}") from None
        except (ValueError, ZeroDivisionError):
            raise UserError(f"parameter {self.name}={text!r} is not a number; domain: {self.domain}") from None
        if self.kind == "int":
            if value.denominator != 1:
                raise UserError(f"parameter {self.name}={text} must be an integer; domain: {self.domain}")
            value = int(value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise UserError(f"parameter {self.name}={text} is outside its domain: {self.domain}")
        return value


@dataclass(frozen=True)
class Theorem:
    id: str
    title: str
    paper: str
    citation: str
    version: str
    number: str
    page: int
    kind: str
    construction: str
    method: str
    parameters: dict
    hypotheses: tuple
    target: dict
    claim: dict
    analysis: dict
    lemmas: tuple
    notes: str
    source_file: str
    package: str = ""  # the paper package under proofs/ that declares the entry
    # an entry "as printed" of a known erratum: what is wrong; its run must come out VIOLATED
    erratum: str = ""
    derived: dict = field(default_factory=dict)
    examples: tuple = field(default=())

    # formulas ----------------------------------------------------------------------------
    @property
    def symbols(self) -> dict[str, sympy.Symbol]:
        return {name: sympy.Symbol(name) for name in self.parameters}

    @property
    def names(self) -> tuple:
        return tuple(self.parameters) + tuple(self.derived)

    def formula(self, text: str) -> sympy.Expr:
        return parse_formula(str(text), self.names, self.id)

    def values(self, params: dict, target: Any = None) -> dict[sympy.Symbol, sympy.Expr]:
        """Exact values of the numeric parameters, the target's modulus and derived quantities."""
        subs: dict[sympy.Symbol, sympy.Expr] = {
            sympy.Symbol(k): sympy.Rational(str(v)) for k, v in params.items()
            if k in self.parameters and not isinstance(v, str)}
        if target is not None:
            subs[sympy.Symbol("alpha")] = sympy.Rational(str(target.alpha))
            subs[sympy.Symbol("lam")] = sympy.Rational(str(target.lam))
        for name, text in self.derived.items():
            subs[sympy.Symbol(name)] = self.formula(text).subs(subs)
        return subs

    def substitute(self, text: str, params: dict, target: Any = None) -> sympy.Expr:
        """The formula with parameters and derived quantities replaced by exact values."""
        return self.formula(text).subs(self.values(params, target))

    def pieces(self, params: dict, limit: int = MAX_PIECES) -> list[tuple[list, list, list]]:
        """The boxes (lo, hi) of the statement's ``claim.pieces`` with the constant value the
        network is claimed to take on each, exactly; refused above ``limit`` boxes."""
        def exact(expr: sympy.Expr) -> fmpq:
            if not expr.is_Rational:
                raise RegistryError(f"{self.id}: claim.pieces formula is not rational: {expr}")
            return fmpq(int(expr.p), int(expr.q))

        if self.claim.get("data") or self.claim.get("let"):
            raise RegistryError(f"{self.id}: claim.pieces over instance data are the kernel's "
                                "to evaluate (certify.kernel.evidence.constant_pieces)")

        values = self.values(params)
        families = self.claim.get("pieces", ())
        counts = [int(self.formula(str(f["count"])).subs(values)) for f in families]
        if sum(counts) > limit:
            raise UserError(f"{self.id}: {sum(counts)} pieces exceed the limit of {limit}")
        out = []
        for family, count in zip(families, counts):
            index = sympy.Symbol(family["index"])
            names = self.names + (family["index"],)
            forms = {k: [parse_formula(t, names, self.id).subs(values) for t in family[k]]
                     for k in ("lo", "hi", "value")}
            for i in range(count):
                at = {index: i}
                out.append(tuple([exact(e.subs(at)) for e in forms[k]] for k in ("lo", "hi", "value")))
        return out

    def parse_params(self, raw: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(raw) - set(self.parameters))
        if unknown:
            allowed = ", ".join(self.parameters) or "none"
            raise UserError(f"unknown parameter {unknown[0]!r} for {self.id}; allowed: {allowed}")
        out = {}
        for name, p in self.parameters.items():
            out[name] = p.parse(raw[name]) if name in raw else p.parse(p.default)
        for name, p in self.parameters.items():  # a union of boxes has as many axes as its dim
            if p.kind == "boxes" and out[name] not in map(str, p.choices):
                axes = out[name].split(";")[0].count("[")
                if axes != out[p.dim]:
                    raise UserError(f"parameter {name}={out[name][:60]!r} has boxes of {axes} axes "
                                    f"but {p.dim}={out[p.dim]}; domain: {p.domain}")
        return out

    def builder(self) -> Callable:
        return _resolve(self.construction)

    def certification(self) -> Method:
        """The certification method: declared by the entry's paper package or by the core."""
        return available_methods(self.package)[self.method]

    def certifier(self) -> Callable:
        return self.certification().bound


def available_methods(package: str) -> dict[str, Method]:
    """The methods an entry of ``proofs/<package>`` may name: the core's and its package's."""

    out = dict(CORE)
    if package:
        try:
            module = importlib.import_module(f"proofs.{package}.check")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"proofs.{package}", f"proofs.{package}.check"):
                raise
            return out
        clash = set(out) & set(module.METHODS)
        if clash:
            raise RegistryError(f"proofs/{package}/check.py redeclares core method(s) {sorted(clash)}")
        out.update(module.METHODS)
    return out


def _resolve(path: str) -> Callable:
    module, _, attr = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise RegistryError(f"cannot load {path!r}: {exc}") from None


@lru_cache(maxsize=None)
def parse_formula(text: str, names: tuple, where: str) -> sympy.Expr:
    names = tuple(names) + TARGET_SYMBOLS
    local = {n: sympy.Symbol(n) for n in names}
    local.update({"omega": OMEGA, "sqrt": sympy.sqrt, "log": sympy.log, "floor": sympy.floor,
                  "ceiling": sympy.ceiling, "Min": sympy.Min, "Max": sympy.Max, "pi": sympy.pi,
                  "Rational": sympy.Rational})
    try:
        expr = sympy.parse_expr(text, local_dict=local, evaluate=True)
    except Exception as exc:  # sympy raises many types
        raise RegistryError(f"{where}: formula {text!r} does not parse: {exc}") from None
    stray = {str(s) for s in expr.free_symbols} - set(names)
    if stray:
        raise RegistryError(f"{where}: formula {text!r} uses unknown symbols {sorted(stray)}")
    return expr


def _fraction(v: Any, where: str) -> Optional[Fraction]:
    if v is None:
        return None
    try:
        return Fraction(str(v))
    except ValueError:
        raise RegistryError(f"{where}: {v!r} is not a number") from None


def _load_parameter(name: str, raw: dict, where: str) -> Parameter:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise RegistryError(f"{where}: parameter {name} has kind {kind!r}; allowed {sorted(KINDS)}")
    if "default" not in raw:
        raise RegistryError(f"{where}: parameter {name} needs a default")
    p = Parameter(name, kind, raw["default"], _fraction(raw.get("min"), where),
                  _fraction(raw.get("max"), where), tuple(raw.get("choices", ())),
                  raw.get("description", ""), raw.get("max_boxes", 0),
                  raw.get("max_denominator", 0), raw.get("dim", ""))
    # a union of boxes is bounded in count and denominators, so the work it starts is bounded
    if kind == "boxes" and not (isinstance(p.max_boxes, int) and 1 <= p.max_boxes <= 256 and
                                isinstance(p.max_denominator, int) and 1 <= p.max_denominator <= 2 ** 64
                                and isinstance(p.dim, str) and p.dim):
        raise RegistryError(f"{where}: parameter {name} (boxes) needs max_boxes in [1, 256], "
                            "max_denominator in [1, 2^64] and dim (an int parameter)")
    # an unbounded numeric domain lets one typo (p=1e400) start unbounded work
    if kind in ("int", "rational") and (p.min is None or p.max is None):
        raise RegistryError(f"{where}: parameter {name} ({kind}) needs both min and max")
    if p.min is not None and p.max is not None and p.min > p.max:
        raise RegistryError(f"{where}: parameter {name} has min {p.min} > max {p.max}")
    try:
        p.parse(p.default)
    except UserError as exc:
        raise RegistryError(f"{where}: default of {name} is outside its own domain ({exc})") from None
    return p


REQUIRED = ("title", "paper", "citation", "version", "number", "page", "kind", "construction",
            "method", "claim")


def _load_entry(raw: dict, source: str) -> Theorem:
    tid = raw.get("id", "<missing id>")
    where = f"{source}: {tid}"
    if "id" not in raw or not isinstance(raw["id"], str) or raw["id"] != raw["id"].lower() \
            or " " in raw["id"]:
        raise RegistryError(f"{where}: every theorem needs a kebab-case id")
    package = source.partition("/")[0] if "/" in source else ""
    allowed = available_methods(package)
    try:  # every key at every level is one the code reads (certify/schema.py)
        schema.check_entry(raw, allowed)
    except schema.SchemaError as exc:
        raise RegistryError(f"{where}: {exc}") from None
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise RegistryError(f"{where}: missing field(s) {missing}")
    if raw["method"] not in allowed:
        raise RegistryError(f"{where}: method {raw['method']!r} unknown; allowed {sorted(allowed)} "
                            f"(the core's and those of proofs/{package}/check.py)")
    if ":" not in raw["construction"]:
        raise RegistryError(f"{where}: construction must be 'module:function'")
    params = {n: _load_parameter(n, p, where) for n, p in raw.get("parameters", {}).items()}
    for name, p in params.items():
        if p.kind == "boxes" and (p.dim not in params or params[p.dim].kind != "int"):
            raise RegistryError(f"{where}: parameter {name} has dim {p.dim!r}, not an int parameter")
    thm = Theorem(
        id=raw["id"], title=raw["title"], paper=raw["paper"], citation=raw["citation"],
        version=raw["version"], number=raw["number"], page=int(raw["page"]), kind=raw["kind"],
        construction=raw["construction"], method=raw["method"], parameters=params,
        hypotheses=tuple(raw.get("hypotheses", ())), target=dict(raw.get("target", {})),
        claim=dict(raw["claim"]), analysis=dict(raw.get("analysis", {})),
        lemmas=tuple(raw.get("lemmas", ())), notes=raw.get("notes", ""), source_file=source,
        package=package, erratum=raw.get("erratum", ""),
        examples=tuple(raw.get("examples", ())), derived=dict(raw.get("derived", {})),
    )
    names = thm.names
    for key, text in thm.derived.items():
        parse_formula(str(text), names, where)
    claim = thm.claim
    if "bound" in claim:
        parse_formula(claim["bound"], names, where)
    for key, spec in claim.get("architecture", {}).items():
        if not isinstance(spec, dict) or not set(spec) <= {"le", "eq"} or not spec:
            raise RegistryError(f"{where}: architecture claim {key} needs 'le' or 'eq'")
        for formula in spec.values():
            parse_formula(str(formula), names, where)
    for name, text in claim.get("let", {}).items():  # each may use the ones before it
        _parse_claim(thm, text, names, where)
        names += (name,)
    for family in claim.get("pieces", ()):
        # a sigma-identity value is a polynomial in the input x1; a pieces value may be affine in
        # the input list x, per output (the kernel's parser: x is subscripted)
        x1 = ("x1",) if claim.get("check") == "sigma-identity" else ()
        index = (family["index"],)
        axis = (family["axis"],) if "axis" in family else ()
        output = (family["output"], "x") if "output" in family else ()
        for key in ("count", "outputs", "lo", "hi", "value"):
            extra = {"lo": axis, "hi": axis, "value": x1 + output}.get(key, ())
            for text in (family.get(key, []) if key in ("lo", "hi", "value") else
                         [family[key]] if key in family else []):
                _parse_claim(thm, text, names + index + extra, where, kernel=bool(axis or output))
        if len(family["lo"]) != len(family["hi"]):
            raise RegistryError(f"{where}: claim.pieces lo and hi differ in length")
    for text in list(claim.get("range", ())) + list(claim.get("box", ())):
        _parse_claim(thm, text, names, where)
    if "operator" in claim:  # a kernel on [-1, 1]^2 below the diagonal, per entry's a
        _parse_claim(thm, claim["operator"], names + ("x", "y", "a"), where, kernel=True)
    for key, text in claim.get("gram", {}).items():  # the entry speaks of two features
        _parse_claim(thm, text, names + (("x", "y", "wx", "wy") if key == "entry" else ()), where,
                     kernel=True)
    return thm


def _parse_claim(thm: Theorem, text: str, names: tuple, where: str, kernel: bool = False) -> None:
    """A formula the kernel alone evaluates: with instance data (``claim.data``: subscripts),
    a ``Sum`` (sympy's Sum takes other limits) or per axis or output (``kernel``) the kernel's
    own parser checks it, else sympy's, like every other formula."""
    data = tuple(thm.claim.get("data", ()))
    if not data and "Sum(" not in str(text) and not kernel:
        parse_formula(str(text), names, where)
        return
    try:
        kernel_formula.parse(str(text), set(names + data + TARGET_SYMBOLS), where)
    except KernelError as exc:
        raise RegistryError(str(exc)) from None


@dataclass
class Registry:
    theorems: dict[str, Theorem]
    graph: nx.DiGraph
    # [[documentation]] entries: statements registered without a verdict (id -> the raw table)
    documentation: dict[str, dict] = field(default_factory=dict)

    def get(self, theorem_id: str) -> Theorem:
        if theorem_id in self.theorems:
            return self.theorems[theorem_id]
        if theorem_id in self.documentation:
            why = " ".join(self.documentation[theorem_id]["no_verdict"].split())
            raise UserError(f"{theorem_id} is registered as documentation only, with no verdict: {why}")
        close = difflib.get_close_matches(theorem_id, list(self.theorems), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            "; run `certify list` to see the known ids"
        raise UserError(f"unknown theorem id {theorem_id!r}{hint}")

    def dependencies(self, theorem_id: str) -> list[str]:
        """Every lemma the theorem relies on, transitively, leaves first."""
        sub = self.graph.subgraph(nx.descendants(self.graph, theorem_id) | {theorem_id})
        return [n for n in reversed(list(nx.topological_sort(sub))) if n != theorem_id]


def proofs_directory() -> Any:
    """Where the claims are: ``proofs/`` beside ``certify``, else the importable package."""
    if PROOFS.is_dir():
        return PROOFS
    try:
        return importlib.resources.files("proofs")
    except (ImportError, TypeError):  # no such package: load() reports the empty registry
        return PROOFS


def load(directory: Any = None) -> Registry:
    """Every theorem of ``directory`` (a path or an importlib.resources Traversable): one
    ``claims.toml`` per paper package."""
    directory = proofs_directory() if directory is None else directory
    theorems: dict[str, Theorem] = {}
    documentation: dict[str, dict] = {}
    try:
        files = sorted(((f.name, f / "claims.toml") for f in directory.iterdir()
                        if f.is_dir() and (f / "claims.toml").is_file()), key=lambda nf: nf[0])
    except OSError as exc:
        raise RegistryError(f"cannot read the theorem statements in {directory}: {exc}") from None
    if not files:
        raise RegistryError(f"no theorem statements (<paper>/claims.toml) in {directory}: the "
                            "installation is incomplete")
    methods_seen: dict[str, str] = {}
    for package, path in files:
        name = f"{package}/claims.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise RegistryError(f"{name}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{name}: cannot be read: {exc}") from None
        try:
            schema.check_file(data)
        except schema.SchemaError as exc:
            raise RegistryError(f"{name}: {exc}") from None
        for raw in data.get("theorem", []):
            thm = _load_entry(raw, name)
            if thm.id in theorems:
                raise RegistryError(f"{name}: duplicate theorem id {thm.id}")
            theorems[thm.id] = thm
        for raw in data.get("documentation", []):
            try:
                schema.check_documentation(raw)
            except schema.SchemaError as exc:
                raise RegistryError(f"{name}: {raw.get('id', '<missing id>')}: {exc}") from None
            if raw["id"] in theorems or raw["id"] in documentation:
                raise RegistryError(f"{name}: duplicate theorem id {raw['id']}")
            documentation[raw["id"]] = dict(raw, package=package)
        # a method name means one thing everywhere (the checker kernel keys its evidence on it)
        for mname in available_methods(package):
            if methods_seen.setdefault(mname, package) != package and \
                    mname not in available_methods(""):
                raise RegistryError(f"method {mname!r} is declared by both proofs/"
                                    f"{methods_seen[mname]} and proofs/{package}")
    graph = nx.DiGraph()
    graph.add_nodes_from(theorems)
    for thm in theorems.values():
        for lemma in thm.lemmas:
            if lemma not in theorems:
                raise RegistryError(f"{thm.source_file}: {thm.id} uses unknown lemma {lemma!r}")
            graph.add_edge(thm.id, lemma)
    if not nx.is_directed_acyclic_graph(graph):
        raise RegistryError(f"lemma graph has a cycle: {nx.find_cycle(graph)}")
    if not theorems:
        raise RegistryError(f"no theorem in the statements of {directory}")
    return Registry(theorems, graph, documentation)


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    return load()
