"""Every key a ``proofs/<paper>/claims.toml`` may hold, and the check that refuses any other.

A key the code does not read is a typo or a claim nobody checks (``[theorem.claim.architecture]
widht = ...`` would silently certify nothing about the width), so the registry refuses the whole
file on an unknown key at any level: the file, an entry, a parameter, the target, the claim, an
architecture claim, the analysis hints, the derived names.  The allowed sets are what the code
reads; ``proofs/SCHEMA.md`` documents each of them (a test keeps the two in step).

Architecture claim names are the quantities the entry's method measures: the integer fields of
the :class:`~constructive.architecture.Architecture` dataclass its ``measure`` returns (a paper's
method may return a subclass with more, e.g. ``width_factor``), plus ``intrinsic`` and
``gadget:NAME.FIELD`` sums (see ``certify.certificate.measure_claims``).

The check raises :class:`SchemaError` with the offending key and the allowed ones; the registry
prefixes the file and the entry id.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping

from certify.kernel.check import CHECKS
from constructive.architecture import Architecture

# the file: a list of [[theorem]] tables and, optionally, [[documentation]] tables
FILE_KEYS = frozenset({"theorem", "documentation", "network"})

# a [[documentation]] entry: a statement registered without a verdict (an existential result
# with nothing to build); key -> the TOML type it must have, all required but hypotheses
DOCUMENTATION: dict[str, type] = {
    "id": str, "title": str, "paper": str, "citation": str, "version": str, "number": str,
    "page": int, "kind": str, "hypotheses": list, "notes": str, "no_verdict": str,
}

# an entry ([[theorem]]): key -> the TOML type it must have
TOP_LEVEL: dict[str, type | tuple] = {
    "id": str, "title": str, "paper": str, "citation": str, "version": str, "number": str,
    "page": int, "kind": str, "construction": str, "method": str, "notes": str,
    "hypotheses": list, "lemmas": list, "examples": list, "erratum": str,
    "parameters": dict, "derived": dict, "target": dict, "claim": dict, "analysis": dict,
}

# a parameter table, per kind (min/max mean nothing to a choice or a bit string, choices nothing
# to a number: such a key would be ignored, so it is refused)
PARAMETER_KEYS = frozenset({"kind", "default", "min", "max", "choices", "description", "max_boxes",
                            "max_denominator", "dim", "presets"})
PARAMETER_KEYS_BY_KIND = {
    "int": frozenset({"kind", "default", "min", "max", "description"}),
    "rational": frozenset({"kind", "default", "min", "max", "description"}),
    "choice": frozenset({"kind", "default", "choices", "description"}),
    "bits": frozenset({"kind", "default", "description"}),
    # a union of boxes in [0,1]^dim, or one of the named choices (certify.registry.parse_box_union)
    "boxes": frozenset({"kind", "default", "choices", "max_boxes", "max_denominator", "dim",
                        "presets", "description"}),
}

TARGET_KEYS = frozenset({"dim", "default", "range"})
CLAIM_KEYS = frozenset({"norm", "region", "bound", "p", "range", "architecture", "pieces",
                        "strict", "check", "box", "rescale", "within", "data", "let", "gram",
                        "operator", "relation", "reference", "relu", "constants"})
# a row of claim.constants (the check neuron-band): see SCHEMA.md
CONSTANT_KEYS = frozenset({"activation", "parameters", "shift", "sign", "scale", "printed", "digits",
                           "closed", "tail"})
# one family of boxes on which an exact claim gives the network's value (see SCHEMA.md)
PIECE_KEYS = frozenset({"index", "count", "lo", "hi", "value"})
# optional: lo/hi one formula per input axis, value one formula per output (the kernel's, see SCHEMA.md)
PIECE_OPTIONAL = frozenset({"axis", "output", "outputs"})
RELATIONS = frozenset({"le", "eq"})  # an architecture claim: exactly one of them
ANALYSIS_KEYS = frozenset({"slope", "axes", "columns", "cells"})
ANALYSIS_VALUES = {"axes": frozenset({"loglog", "semilog"}),
                   "cells": frozenset({"trifling", "shifted"})}

# architecture claim names besides the measured fields
INTRINSIC = "intrinsic"
GADGET_PREFIX = "gadget:"
GADGET_FIELDS = frozenset({"params", "count"})  # constructive.architecture.measure: gadgets[NAME]

# names a parameter or derived quantity may not take: the formula language's functions and
# constants (certify.registry.parse_formula); the target's alpha and lam are not among them, as a
# parameter may be named alpha where no formula of its entry speaks of the target's exponent
RESERVED = frozenset({"omega", "sqrt", "log", "floor", "ceiling", "Min", "Max", "pi", "Rational"})

# the documented sections of proofs/SCHEMA.md: heading text -> the keys its table must list
SECTIONS: dict[str, frozenset] = {
    "`[[theorem]]`": frozenset(TOP_LEVEL),
    "`parameters.NAME`": PARAMETER_KEYS,
    "`target`": TARGET_KEYS,
    "`claim`": CLAIM_KEYS,
    "`claim.architecture.NAME`": RELATIONS,
    "`claim.pieces`": PIECE_KEYS | PIECE_OPTIONAL,
    "`analysis`": ANALYSIS_KEYS,
    "`[[documentation]]`": frozenset(DOCUMENTATION),
}


class SchemaError(ValueError):
    """A key (or the shape of a value) the schema does not allow."""


def _allowed(keys: Iterable[str]) -> str:
    return ", ".join(sorted(keys))


def _unknown(table: Mapping, allowed: Iterable[str], where: str) -> None:
    allowed = frozenset(allowed)
    for key in table:
        if key not in allowed:
            raise SchemaError(f"unknown key {key!r} in {where}; allowed: {_allowed(allowed)}")


def _name(name: str, what: str) -> None:
    if not name.isidentifier():
        raise SchemaError(f"{what} name {name!r} is not an identifier")
    if name in RESERVED:
        raise SchemaError(f"{what} name {name!r} is reserved by the formula language "
                          f"({_allowed(RESERVED)})")


# ---------------------------------------------------------------------------- measured names

def _architecture_class(measure: Callable) -> type:
    """The Architecture dataclass ``measure`` declares it returns (its return annotation)."""
    ann = getattr(measure, "__annotations__", {}).get("return")
    if isinstance(ann, str):  # postponed annotations: a (dotted) name in the function's module
        obj: Any = getattr(measure, "__globals__", {})
        for i, part in enumerate(ann.split(".")):
            obj = obj.get(part) if i == 0 else getattr(obj, part, None)
            if obj is None:
                break
        ann = obj
    if isinstance(ann, type) and issubclass(ann, Architecture) and dataclasses.is_dataclass(ann):
        return ann
    return Architecture


def measured_names(measure: Callable) -> frozenset[str]:
    """The integer quantities a method's ``measure`` returns: the claimable architecture names."""
    return frozenset(f.name for f in dataclasses.fields(_architecture_class(measure))
                     if f.type in (int, "int"))


def check_architecture_name(name: str, measured: frozenset[str], method: str) -> None:
    if name == INTRINSIC or name in measured:
        return
    if name.startswith(GADGET_PREFIX) or "+" in name:
        for part in name.split("+"):
            gadget, dot, fld = part.removeprefix(GADGET_PREFIX).partition(".")
            if not part.startswith(GADGET_PREFIX) or not gadget or gadget != gadget.strip() \
                    or (dot and fld not in GADGET_FIELDS):
                raise SchemaError(
                    f"architecture claim {name!r}: {part!r} is not gadget:NAME.FIELD with FIELD "
                    f"one of {_allowed(GADGET_FIELDS)} (a '+' joins gadget terms only)")
        return
    allowed = sorted(measured) + [INTRINSIC] + [f"{GADGET_PREFIX}NAME.{f}" for f in
                                                sorted(GADGET_FIELDS)]
    raise SchemaError(f"unknown architecture claim {name!r}: method {method!r} measures none; "
                      f"allowed: {', '.join(allowed)}")


# ---------------------------------------------------------------------------- the checks

def check_file(data: Mapping) -> None:
    """The top level of a claims file: ``[[theorem]]``, ``[[documentation]]`` and ``[[network]]``
    tables only (a network a claim names with ``claim.relu``, in the certificate's stored form)."""
    _unknown(data, FILE_KEYS, "the file")
    for name in sorted(FILE_KEYS):
        entries = data.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise SchemaError(f"'{name}' must be an array of tables ([[{name}]])")
    for net in data.get("network", []):
        if set(net) != {"name", "input_dim", "layers"} or not isinstance(net["name"], str) \
                or not isinstance(net["layers"], list):
            raise SchemaError("each [[network]] needs exactly name, input_dim and layers")


def check_documentation(raw: Mapping) -> None:
    """One ``[[documentation]]`` entry: only its keys, each of its type, all but hypotheses given."""
    _unknown(raw, DOCUMENTATION, "[[documentation]]")
    for key, kind in DOCUMENTATION.items():
        if key not in raw:
            if key != "hypotheses":
                raise SchemaError(f"missing field {key}")
        elif not isinstance(raw[key], kind) or isinstance(raw[key], bool):
            raise SchemaError(f"{key} must be {_TYPE_NAMES[kind]}, not {raw[key]!r}")


def check_entry(raw: Mapping, methods: Mapping[str, Any]) -> None:
    """Refuse any key of one ``[[theorem]]`` entry the code does not read.

    ``methods`` are the methods the entry may name; the architecture claims are checked against
    what its method measures (when the method is unknown the registry reports that instead).
    """
    _unknown(raw, TOP_LEVEL, "[[theorem]]")
    for key, kind in TOP_LEVEL.items():
        if key in raw and (not isinstance(raw[key], kind) or isinstance(raw[key], bool)):
            raise SchemaError(f"{key} must be {_TYPE_NAMES[kind]}, not {raw[key]!r}")
    for name, spec in raw.get("parameters", {}).items():
        _name(name, "parameter")
        if not isinstance(spec, dict):
            raise SchemaError(f"parameter {name} must be a table")
        _unknown(spec, PARAMETER_KEYS_BY_KIND.get(spec.get("kind"), PARAMETER_KEYS),
                 f"[parameters.{name}] (kind {spec.get('kind')!r})")
        presets = spec.get("presets", {})
        if spec.get("kind") == "boxes" and (set(presets) != set(spec.get("choices", ())) or not all(
                isinstance(v, list) and v and all(isinstance(t, str) for t in v) for v in presets.values())):
            raise SchemaError(f"parameter {name}: presets must give every choice its boxes, one "
                              "text per dimension 1, 2, ...")
    for name in raw.get("derived", {}):
        _name(name, "derived")
        if name in raw.get("parameters", {}):
            raise SchemaError(f"derived name {name!r} is also a parameter")
    _unknown(raw.get("target", {}), TARGET_KEYS, "[target]")
    claim = raw.get("claim", {})
    _unknown(claim, CLAIM_KEYS, "[claim]")
    if "strict" in claim and not isinstance(claim["strict"], bool):
        raise SchemaError(f"claim.strict must be true or false, not {claim['strict']!r}")
    architecture = claim.get("architecture", {})
    if not isinstance(architecture, dict):
        raise SchemaError("claim.architecture must be a table")
    pieces = claim.get("pieces", [])
    if not isinstance(pieces, list):
        raise SchemaError("claim.pieces must be a list of tables ([[theorem.claim.pieces]])")
    # a sup claim over intervals (the sigma checks), an identity of two networks or a codebook
    # (covering) names no value
    no_value = ("sigma-sup", "sigma-range", "sigma-sup-levels", "covering", "line-identity")
    keys = PIECE_KEYS - {"value"} if claim.get("check") in no_value else PIECE_KEYS
    for family in pieces:
        if not isinstance(family, dict) or not keys <= set(family) <= keys | PIECE_OPTIONAL:
            raise SchemaError(f"each claim.pieces table needs exactly the keys {_allowed(keys)} "
                              f"(optionally {_allowed(PIECE_OPTIONAL)})")
        _name(family["index"], "claim.pieces index")
        if not all(isinstance(family[k], list) and all(isinstance(v, str) for v in family[k])
                   for k in keys - {"index", "count"}):
            raise SchemaError("claim.pieces lo, hi and value must be lists of formulas (strings)")
        if ("output" in family) != ("outputs" in family) or any(
                len(family[k]) != 1 for k, flag in (("lo", "axis"), ("hi", "axis"), ("value", "output"))
                if flag in family):
            raise SchemaError("claim.pieces: with axis, lo and hi are one formula each; output "
                              "and outputs go together, with one value formula")
        for k in ("axis", "output"):
            if k in family:
                _name(family[k], f"claim.pieces {k}")
    _kernel_keys(claim)
    method = methods.get(raw.get("method"))
    measured = measured_names(method.measure) if method is not None else None
    for name, spec in architecture.items():
        if not isinstance(spec, dict) or len(spec) != 1:
            raise SchemaError(f"architecture claim {name!r} needs exactly one of "
                              f"{_allowed(RELATIONS)} (e.g. {{ le = \"...\" }})")
        _unknown(spec, RELATIONS, f"architecture claim {name!r}")
        if measured is not None:
            check_architecture_name(name, measured, method.name)
    analysis = raw.get("analysis", {})
    _unknown(analysis, ANALYSIS_KEYS, "[analysis]")
    for key, values in ANALYSIS_VALUES.items():
        if key in analysis and analysis[key] not in values:
            raise SchemaError(f"analysis.{key} = {analysis[key]!r}; allowed: {_allowed(values)}")
    if "columns" in analysis and (not isinstance(analysis["columns"], list)
                                  or not all(isinstance(c, str) for c in analysis["columns"])):
        raise SchemaError("analysis.columns must be a list of strings")


_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "a table"}


def _kernel_keys(claim: dict) -> None:
    """``check`` names one of the kernel's checks; ``box`` and ``range`` are [lo, hi] formulas
    (``rescale``: the target of the cube read on ``box``);
    ``data`` names the details fields of the instance that the formulas subscript; ``let`` names
    quantities of them, worked out once for every piece."""
    if "check" in claim and claim["check"] not in CHECKS:
        raise SchemaError(f"claim.check = {claim['check']!r}; the kernel checks "
                          f"{_allowed(frozenset(CHECKS))}")
    for key in ("box", "range"):
        if key in claim and not (isinstance(claim[key], list) and len(claim[key]) == 2
                                 and all(isinstance(t, str) for t in claim[key])):
            raise SchemaError(f"claim.{key} must be [lo, hi]: two formulas (strings)")
    if "rescale" in claim and (claim["rescale"] is not True or "box" not in claim):
        raise SchemaError("claim.rescale must be true, beside a claim.box")
    if "within" in claim and not isinstance(claim["within"], str):
        raise SchemaError("claim.within must name a parameter of kind boxes")
    data = claim.get("data", [])
    if not isinstance(data, list):
        raise SchemaError("claim.data must be a list of names")
    for name in data:
        _name(name, "claim.data")
    if "relu" in claim and not isinstance(claim["relu"], str):
        raise SchemaError("claim.relu must name a [[network]] of a claims file")
    if "reference" in claim and not isinstance(claim["reference"], str):
        raise SchemaError("claim.reference must be a formula (a string) in x1, x2, ...")
    if "operator" in claim and not isinstance(claim["operator"], str):
        raise SchemaError("claim.operator must be a formula (a string) in x, y and a")
    gram = claim.get("gram", {})
    if not isinstance(gram, dict) or not set(gram) <= {"entry", "power"} or \
            not all(isinstance(t, str) for t in gram.values()) or (gram and "entry" not in gram):
        raise SchemaError("claim.gram must be a table with the formula entry (and optionally power)")
    relation = claim.get("relation", {})
    if not isinstance(relation, dict) or (relation and set(relation) != {"index", "count", "value", "height"}) \
            or not all(isinstance(t, str) for t in relation.values()):
        raise SchemaError("claim.relation must be a table of the formulas index, count, value and height")
    constants = claim.get("constants", {})
    for key, row in constants.items() if isinstance(constants, dict) else [("", None)]:
        if not isinstance(row, dict) or not {"activation", "printed"} <= set(row) or \
                ("closed" in row) == ("tail" in row):
            raise SchemaError(f"claim.constants.{key} must be a table with activation, printed and "
                              "exactly one of closed and tail")
        _unknown(row, CONSTANT_KEYS, f"[claim.constants.{key}]")
    let = claim.get("let", {})
    if not isinstance(let, dict) or not all(isinstance(t, str) for t in let.values()):
        raise SchemaError("claim.let must be a table of name = formula (strings)")
    for name in let:
        _name(name, "claim.let")
