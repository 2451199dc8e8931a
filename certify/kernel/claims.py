"""The statement of a theorem, read from the installed claims files (``proofs/<paper>/claims.toml``).

Only what a check needs: the parameter domains, derived quantities, the bound, the norm, the
architecture claims and the method name.  Formulas stay text here and are walked by
``certify.kernel.formula``; nothing is taken from the certificate.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from flint import fmpq

from certify.kernel.errors import KernelError
from certify.kernel.formula import evaluate

RATIONAL = re.compile(r"^-?\d{1,4000}(/\d{1,4000})?$")


def rational(text: Any, where: str) -> fmpq:
    """An exact rational from its text ``p`` or ``p/q``; anything else is refused."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise KernelError(f"{where}: {text!r} is not an exact rational")
    text = str(text).strip()
    if not RATIONAL.match(text):
        raise KernelError(f"{where}: {text!r} is not an exact rational p/q")
    p, _, q = text.partition("/")
    if q and int(q) == 0:
        raise KernelError(f"{where}: {text!r} has a zero denominator")
    return fmpq(int(p), int(q or 1))


def claims_directory() -> Path:
    spec = importlib.util.find_spec("proofs")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parents[2] / "proofs"


@dataclass(frozen=True)
class Statement:
    id: str
    method: str
    construction: str
    parameters: dict      # name -> raw TOML table
    derived: dict         # name -> formula text
    claim: dict
    target: dict
    analysis: dict

    def values(self, params: dict[str, str], lam: fmpq, alpha: fmpq) -> dict[str, Any]:
        """Exact (or ball) values of the parameters and derived names, domains checked."""
        if set(params) != set(self.parameters):
            raise KernelError(f"parameters {sorted(params)} differ from the statement's "
                              f"{sorted(self.parameters)}")
        env: dict[str, Any] = {"alpha": alpha, "lam": lam}
        for name, spec in self.parameters.items():
            text = params[name]
            if not isinstance(text, str):
                raise KernelError(f"parameter {name} is not a string")
            kind = spec.get("kind")
            if kind == "choice":  # stands for its position among the choices (0, 1, …)
                choices = [str(c) for c in spec.get("choices", ())]
                if text not in choices:
                    raise KernelError(f"parameter {name}={text!r} is not one of its choices")
                env[name] = fmpq(choices.index(text))
                continue
            if kind == "boxes":  # a preset, or [lo,hi]x...;... in [0,1]^dim (the registry's canonical text)
                boxes_of(name, text, spec, params)
                continue
            if kind == "bits":
                if not text or set(text) - {"0", "1"} or len(text) > 10**5:
                    raise KernelError(f"parameter {name}={text!r} is not a bit string")
                continue
            v = rational(text, f"parameter {name}")
            if kind == "int" and v.q != 1:
                raise KernelError(f"parameter {name}={text} is not an integer")
            lo, hi = spec.get("min"), spec.get("max")
            if (lo is not None and v < rational(lo, name)) or (hi is not None and v > rational(hi, name)):
                raise KernelError(f"parameter {name}={text} is outside [{lo}, {hi}]")
            env[name] = v
        for name, text in self.derived.items():
            env[name] = self.formula(str(text), env, f"derived {name}")
        return env

    def formula(self, text: str, env: dict, where: str, modulus: Optional[tuple] = None,
                lists: bool = False) -> Any:
        return evaluate(str(text), env, f"{self.id}: {where}", modulus, lists)


def boxes_of(name: str, text: str, spec: dict, params: dict[str, str]) -> list[list[tuple]]:
    """The boxes of a parameter of kind ``boxes``: a preset of the statement (``presets``: per
    preset one text per dimension 1, 2, ...) or the union ``[lo,hi]x...;...`` in [0, 1]^dim."""
    dim = int(rational(params.get(spec.get("dim"), "0"), f"parameter {name}'s dim"))
    presets = spec.get("presets", {})
    if text in presets:
        if not 1 <= dim <= len(presets[text]):
            raise KernelError(f"parameter {name}={text!r} has no preset in dimension {dim}")
        text = presets[text][dim - 1]
    parts = text.split(";")
    if len(text) > 8000 or len(parts) > int(spec.get("max_boxes", 0)):
        raise KernelError(f"parameter {name}: more boxes than max_boxes")
    boxes = []
    for box in parts:
        axes = [a.split(",") for a in box.removeprefix("[").removesuffix("]").split("]x[")]
        if len(axes) != dim or any(len(a) != 2 for a in axes) or \
                not (box.startswith("[") and box.endswith("]")):
            raise KernelError(f"parameter {name}={text[:60]!r}: a box has not {spec.get('dim')} axes")
        ends = [(rational(a, name), rational(b, name)) for a, b in axes]
        for lo, hi in ends:
            if not 0 <= lo < hi <= 1 or max(lo.q, hi.q) > int(spec.get("max_denominator", 0)):
                raise KernelError(f"parameter {name}={text[:60]!r}: [{lo},{hi}] is outside its domain")
        boxes.append(ends)
    return boxes


@lru_cache(maxsize=4)
def load_statements(directory: Optional[str] = None) -> dict[str, Statement]:
    root = Path(directory) if directory else claims_directory()
    files = sorted(root.glob("*/claims.toml"))
    if not files:
        raise KernelError(f"no claims files under {root}")
    out: dict[str, Statement] = {}
    for path in files:
        for raw in tomllib.loads(path.read_text()).get("theorem", []):
            out[raw["id"]] = Statement(raw["id"], raw["method"], raw["construction"], dict(raw.get("parameters", {})),
                                       dict(raw.get("derived", {})), dict(raw["claim"]),
                                       dict(raw.get("target", {})), dict(raw.get("analysis", {})))
    return out


@lru_cache(maxsize=4)
def named_networks(directory: Optional[str] = None) -> dict[str, dict]:
    """The ``[[network]]`` tables of the claims files, by name (in the certificate's stored form)."""
    root = Path(directory) if directory else claims_directory()
    return {raw["name"]: {"input_dim": raw["input_dim"], "layers": raw["layers"]}
            for path in sorted(root.glob("*/claims.toml"))
            for raw in tomllib.loads(path.read_text()).get("network", [])}


def statement(theorem_id: Any) -> Statement:
    if not isinstance(theorem_id, str):
        raise KernelError("the theorem id is not a string")
    stmts = load_statements()
    if theorem_id not in stmts:
        raise KernelError(f"theorem {theorem_id!r} is not in the installed claims")
    return stmts[theorem_id]
