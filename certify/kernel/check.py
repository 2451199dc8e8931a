"""Re-derive a certificate: statement from the claims files, bounds from the evidence.

What the kernel re-derives: the parameter domains, the bound and every architecture formula
(from the installed claims), the architecture of the stored network, the error bound from the
evidence (by the check the statement names in ``claim.check``, see ``CHECKS``), every witness, lower ≤ upper, and the verdict.
What it cannot re-derive it lists under ``trusted``; a certificate that claims HOLDS on a bound
the kernel could not re-derive is accepted only as "bound trusted" and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from flint import arb, ctx, fmpq

from certify.kernel import evidence as ev
from certify.kernel import modulus
from certify.kernel import scalars as sc
from certify.kernel.claims import Statement, rational, statement
from certify.kernel.errors import KernelError, Undecided
from certify.kernel.formula import ball, evaluate
from certify.kernel.grid import TargetExpression
from certify.kernel.network import BLOCK_MEASURES, NEST_MEASURES, StoredNetwork
from certify.kernel.stored import decode
from certify.kernel.superposition import superposition_pieces, superposition_sup

PREC = 256
DECIMAL = re.compile(r"^-?\d{1,400}\.\d{1,400}(e-?\d{1,6})?$")
_RAD = r"\d{1,400}(\.\d{1,400})?(e[-+]?\d{1,6})?"
BALL = re.compile(rf"^\[(-?{_RAD} )?\+/- {_RAD}\]$|^\[-?{_RAD}\]$")
VERDICTS = {"HOLDS", "VIOLATED", "INCONCLUSIVE", "CONDITIONAL"}
MEASURABLE = {"width", "depth", "params", "dense_params", "input_dim", "output_dim"}
GAPS = {"width_gap", "depth_gap"}  # an emulation's, worked out for its claims, not always recorded

# the statement's ``claim.check`` -> the evidence checker that re-derives its error bounds, and
# the norms it can speak about (the statement, never the certificate, picks the checker)
CHECKS: dict[str, tuple[Callable[..., ev.Bounds], set]] = {
    "grid-sup": (ev.grid_sup, {"Linf"}),
    "grid-lp": (ev.grid_lp, {"Lp"}),
    "grid-offtrifling": (ev.grid_offtrifling, {"Linf"}),
    "interpolant": (ev.interpolant_identity, {"Linf", "exact"}),
    "line-range": (ev.line_range, {"exact", "Linf"}),
    "line-identity": (ev.line_identity, {"exact"}),
    "pieces": (ev.constant_pieces, {"exact", "Linf"}),
    "sigma-identity": (ev.sigma_identity, {"exact"}),
    "sigma-sup": (ev.sigma_sup, {"Linf"}),
    "sigma-range": (ev.sigma_range, {"Linf"}),
    "sigma-sup-levels": (sc.sigma_sup_levels, {"Linf"}),
    "superposition-sup": (superposition_sup, {"Linf"}),
    "superposition-pieces": (superposition_pieces, {"exact"}),
    "covering": (sc.covering, {"Linf"}),
    "codec-roundtrip": (sc.codec_roundtrip, {"Linf"}),
    "split-range": (ev.split_range, {"exact", "Linf"}),
    "split-sup": (ev.split_sup, {"Linf"}),
    "numbers": (sc.numbers, {"exact"}),
    "no-relation": (sc.no_relation, {"exact"}),
    "gram-rank": (sc.gram_rank, {"exact"}),
    "gram-condition": (sc.gram_condition, {"exact"}),
    "gram-entries": (sc.gram_entries, {"exact"}),
    "gram-spectrum": (sc.gram_spectrum, {"exact"}),
    "neuron-band": (sc.neuron_band, {"exact"}),
    "operator-norm": (sc.operator_norm, {"exact"}),
    "smooth-sup": (sc.smooth_sup, {"Linf"}),
    "emulation-sup": (sc.emulation_sup, {"Linf"}),
    "relu-identity": (sc.relu_identity, {"exact"}),
    "root-intervals": (sc.root_intervals, {"exact"}),
    "root-gaps": (sc.root_gaps, {"exact"}),
}


@dataclass
class KernelReport:
    theorem: str
    verdict: Optional[str] = None
    rederived: list = field(default_factory=list)
    trusted: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    upper: Optional[Any] = None
    lower: Optional[Any] = None
    sharper: Optional[str] = None  # what the kernel's own bounds show, where they decide more
    bound_trusted: bool = False  # the verdict rests on a stored bound the kernel did not re-derive

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def fully_rederived(self) -> bool:
        return self.ok and not self.trusted


UNKNOWN = "[+/- inf]"  # arb's text of an upper bound that was not shown


def _number(text: Any, where: str, unknown_ok: bool = False) -> arb:
    """A stored bound: an exact rational, a decimal, or arb's own ball text '[mid +/- rad]'
    (read by arb, which rounds outward); ``unknown_ok``: an upper bound (or ratio) may be
    UNKNOWN, i.e. nothing was shown."""
    if unknown_ok and text == UNKNOWN:
        return arb(0, arb("inf"))
    if isinstance(text, str) and (BALL.match(text) or DECIMAL.match(text.strip())):
        v = arb(text.strip())
        if not v.is_finite():
            raise KernelError(f"{where}: {text!r} is not finite")
        return v
    return arb(rational(text, where))


def _need(cert: dict, key: str, kind: type) -> Any:
    v = cert.get(key)
    if not isinstance(v, kind) or isinstance(v, bool) and kind is not bool:
        raise KernelError(f"certificate field {key!r} is missing or not a {kind.__name__}")
    return v


def check_certificate_data(cert: Any) -> KernelReport:
    """The kernel's verdict on a parsed certificate (a dict from JSON)."""
    with ctx.workprec(PREC):
        return _checked(cert)


def _checked(cert: Any) -> KernelReport:
    try:
        if not isinstance(cert, dict):
            raise KernelError("a certificate is a JSON object")
        report = KernelReport(str(cert.get("theorem")))
        _check(cert, report)
    except KernelError as exc:
        report = locals().get("report") or KernelReport("?")
        report.problems.append(str(exc))
    except Undecided as exc:  # a limit met where no check's bound could stay trusted instead
        report = locals().get("report") or KernelReport("?")
        report.problems.append(f"over the kernel's limits: {exc}")
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError,
            RecursionError, OverflowError) as exc:
        # untrusted data of an unexpected shape: refused, never a crash and never a pass
        report = locals().get("report") or KernelReport("?")
        report.problems.append(f"malformed certificate ({type(exc).__name__}: {exc})")
    return report


def _check(cert: dict, report: KernelReport) -> None:
    stmt = statement(cert.get("theorem"))
    target = _need(cert, "target", dict)
    dim = target.get("dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 64:
        raise KernelError("target dim is not an integer in [1, 64]")
    lam, alpha = rational(target.get("lam"), "target lam"), rational(target.get("alpha"), "target alpha")
    if lam < 0 or not 0 < alpha <= 1:
        raise KernelError("target modulus needs lam >= 0 and 0 < alpha <= 1")
    env = stmt.values(_need(cert, "params", dict), lam, alpha)
    report.rederived.append("parameters inside the statement's domains")
    data = ev.with_instance(stmt, cert, env)
    report.trusted.extend(f"{name}, the instance's data, as stored" for name in data)
    bound = stmt.formula(stmt.claim.get("bound", "0"), env, "bound", (lam, alpha))
    error = _need(cert, "error", dict)
    for key, want in (("norm", stmt.claim.get("norm")), ("region", stmt.claim.get("region")),
                      ("bound_formula", stmt.claim.get("bound"))):
        if error.get(key) != want:
            report.problems.append(f"error.{key} {error.get(key)!r} differs from the statement's {want!r}")
    strict = stmt.claim.get("strict", False) is True
    if error.get("strict", False) is not strict:
        report.problems.append(f"error.strict {error.get('strict')!r} differs from the statement's "
                               f"{strict} (error < bound versus error <= bound)")
    stored_bound = _number(error.get("bound"), "error.bound")
    if not stored_bound.overlaps(ball(bound)):
        report.problems.append(f"stored bound {error.get('bound')} differs from the statement's {bound}")
    ratio, stored_upper = error.get("ratio"), _number(error.get("upper"), "error.upper", True)
    if ratio is None or not ball(bound) > 0:
        consistent = ratio is None and not ball(bound) > 0
    elif not stored_upper.is_finite():
        consistent = ratio == UNKNOWN
    else:
        consistent = _number(ratio, "error.ratio").overlaps(stored_upper / ball(bound))
    if not consistent:
        report.problems.append(f"error.ratio {ratio!r} is not upper / bound")
    report.rederived.append("bound from the installed claims")
    if "omega" in str(stmt.claim.get("bound")) or "lam" in str(stmt.claim.get("bound")):
        # the bound is stated through the target's modulus: the kernel takes lam as stored
        if str(target.get("certified", "")).startswith("assumption"):
            report.trusted.append("the target's modulus (declared, not verified)")
        elif _modulus_shown(target, dim, lam, alpha):
            report.rederived.append("the target's modulus λ‖x − y‖^α on the cube, from its expression")
        else:
            report.trusted.append("the target's modulus (re-derived by check outside the kernel)")

    net = _network(cert, stmt, report)
    claims_ok = _architecture(cert, stmt, env, net, report)
    lower, upper = _bounds(cert, stmt, env, net, bound, report)
    stored_lower = _number(error.get("lower"), "error.lower")
    stored_upper = _number(error.get("upper"), "error.upper", True)
    if stored_lower > stored_upper:
        report.problems.append(f"stored lower bound {error.get('lower')} exceeds the stored upper "
                               f"bound {error.get('upper')}")
    if upper is not None and stored_lower > upper:
        report.problems.append("the stored lower bound exceeds the kernel's upper bound")
    if lower is not None and lower > stored_upper:
        report.problems.append("a witness error exceeds the stored upper bound")
    if lower is not None and upper is not None and lower > upper:
        report.problems.append("internal contradiction: re-derived lower > upper")
    report.lower, report.upper = lower, upper
    _verdict(cert, stmt, bound, lower, upper, stored_upper, claims_ok, report)


def _modulus_shown(target: dict, dim: int, lam: fmpq, alpha: fmpq) -> bool:
    try:
        return modulus.shown(TargetExpression(target.get("expr"), dim).tree, dim, lam, alpha)
    except KernelError:
        return False


def _network(cert: dict, stmt: Statement, report: KernelReport) -> Optional[StoredNetwork]:
    network = _need(cert, "network", dict)
    if network.get("construction") != stmt.construction:
        report.problems.append(f"network.construction {network.get('construction')!r} is not the "
                               f"statement's builder {stmt.construction!r}")
    report.trusted.append("the network digest names the builder's network (check --rebuild "
                          "compares them)")
    if network.get("layers") is None:
        report.trusted.append("the network (not stored: " + str(network.get("why_not_stored", "?"))
                              + "); architecture and witnesses taken from the certifier")
        return None
    net = decode(network["layers"])
    report.rederived.append("network decoded from the certificate")
    return net


def _architecture(cert: dict, stmt: Statement, env: dict, net: Optional[StoredNetwork],
                  report: KernelReport) -> bool:
    arch = _need(cert, "architecture", dict)
    stored_measured = arch.get("measured")
    claims = arch.get("claims")
    if not isinstance(stored_measured, dict) or not isinstance(claims, list):
        raise KernelError("architecture needs measured (object) and claims (list)")
    measured = dict(stored_measured)
    layered = cert["network"].get("measure") == "layered"
    wanted = stmt.claim.get("architecture", {})
    block = _structure(net, layered, wanted, report, stmt, cert.get("evidence"))
    for key, value in block.items():  # a repeated block, or the nesting, measured from the network
        if stored_measured.get(key) != value and (key in stored_measured or key not in GAPS):
            report.problems.append(f"measured {key} {stored_measured.get(key)!r} differs from "
                                   f"the stored network's {value}")
        measured[key] = value
    if net is not None and not layered:
        if not block:  # a repeated block or the levels measure all of it
            report.trusted.append("the measured architecture (the method's own count, e.g. a "
                                  "repeated block once; check --rebuild re-measures it)")
        net_for_claims = None
    else:
        net_for_claims = net
    if net_for_claims is not None:
        mine = net.measure()
        for key, value in mine.items():
            if stored_measured.get(key) != value:
                report.problems.append(f"measured {key} {stored_measured.get(key)!r} differs from "
                                       f"the stored network's {value}")
            measured[key] = value
        report.rederived.append("width, depth and parameter counts re-measured from the network")
    by_name = {c.get("name"): c for c in claims if isinstance(c, dict)}
    if set(by_name) != set(wanted) or len(claims) != len(wanted):
        report.problems.append(f"architecture claims {sorted(map(str, by_name))} differ from the "
                               f"statement's {sorted(wanted)}")
    all_ok = True
    for name, spec in wanted.items():
        (relation, formula), = spec.items()
        claimed = stmt.formula(str(formula), env, f"architecture {name}")
        stored = by_name.get(name, {})
        if stored.get("relation") != relation or stored.get("formula") != str(formula) or \
                not _same_value(stored.get("claimed"), claimed, env):
            report.problems.append(f"architecture {name}: stored relation, formula or claimed "
                                   "value differs from the statement")
        if name in MEASURABLE and net_for_claims is not None or name in block:
            value = measured[name]
            if stored.get("measured") != value:  # the certificate shows it: it must be the network's
                report.problems.append(f"architecture {name}: stored measured "
                                       f"{stored.get('measured')!r} differs from the network's {value}")
        else:
            value = stored.get("measured")
            report.trusted.append(f"measured {name} (not re-measured by the kernel)")
        if not isinstance(value, int) or isinstance(value, bool):
            report.problems.append(f"architecture {name}: measured value {value!r} is not an integer")
            all_ok = False
            continue
        ok = _relation(fmpq(value), relation, claimed)
        if stored.get("ok") is not ok:
            report.problems.append(f"architecture {name}: stored ok={stored.get('ok')!r}, but "
                                   f"{value} {relation} {formula} is {ok}")
        all_ok = all_ok and bool(ok)
    report.rederived.append("architecture claims from the installed formulas")
    return all_ok


def _same_value(text: Any, value: Any, env: dict) -> bool:
    """Does the stored text (sympy's print of the claimed value) name the kernel's value?"""
    if not isinstance(text, str):
        return False
    try:
        stored = evaluate(text, {}, "stored claimed value")
    except KernelError:
        return False
    if isinstance(stored, fmpq) and isinstance(value, fmpq):
        return stored == value
    return ball(stored).overlaps(ball(value))


def _relation(value: fmpq, relation: str, claimed: Any) -> Optional[bool]:
    if isinstance(claimed, fmpq):
        return value <= claimed if relation == "le" else value == claimed
    c = ball(claimed)
    if relation == "le":
        return True if arb(value) <= c else (False if arb(value) > c else None)
    return False if not c.contains(arb(value)) else None


def _structure(net: Optional[StoredNetwork], layered: bool, wanted: dict, report: KernelReport,
               stmt: Statement, evidence: Any) -> dict[str, Any]:
    """The counts a method measures on structure the kernel sees too: a repeated block (where
    stored), NestNet's levels (where the statement claims them), and an emulation's size against
    the emulated ReLU network's (where the statement's check composes the one from the other)."""
    if net is None or layered:
        return {}
    if stmt.claim.get("check") == "emulation-sup" and isinstance(evidence, dict):
        mine, (N, L) = net.measure(), _width_depth(decode(evidence.get("relu")))
        factors = {"width_factor": -(-mine["width"] // N), "depth_factor": -(-mine["depth"] // L)}
        report.rederived.append("width, depth and parameter counts re-measured from the network, "
                                "N and L from the emulated ReLU network")
        return {**mine, **factors, "relu_width": N, "relu_depth": L,
                "width_gap": factors["width_factor"] * N - mine["width"],
                "depth_gap": factors["depth_factor"] * L - mine["depth"],
                "width_over_N": f"{mine['width']}/{N}", "depth_over_L": f"{mine['depth']}/{L}"}
    block = net.block_measure()
    if not block and set(wanted) & set(BLOCK_MEASURES):
        report.problems.append("the statement measures a repeated block and the stored network "
                               "stores none")
    if block:
        report.rederived.append("the repeated block's width, depth, dimension, count and "
                                "parameters, and the whole network's counts with it once, "
                                "re-measured from the network")
        return block
    if set(wanted) & set(NEST_MEASURES):
        report.rederived.append("width, depth, height and NestNet's parameter counts re-measured "
                                "from the network's levels")
        return net.level_measure()
    return {}


def _width_depth(relu: StoredNetwork) -> tuple[int, int]:
    m = relu.measure()
    if m["width"] < 1 or m["depth"] < 1:
        raise KernelError("the emulated ReLU network has no hidden layer")
    return m["width"], m["depth"]


def _bounds(cert: dict, stmt: Statement, env: dict, net: Optional[StoredNetwork], bound: Any,
            report: KernelReport) -> tuple[Optional[arb], Optional[arb]]:
    target_rec = cert["target"]
    try:
        target = TargetExpression(target_rec.get("expr"), target_rec["dim"])
    except KernelError as exc:
        target = None
        report.trusted.append(f"the target ({exc})")
    if target is not None and stmt.claim.get("rescale") is True:
        # the target is given on the cube, the region is claim.box: f(x) = t of x mapped onto the cube
        target = target.framed(ev.region(stmt, env, target.dim))
    checker, norms = CHECKS.get(stmt.claim.get("check"), (None, set()))
    if checker is not None and stmt.claim.get("norm") not in norms:
        raise KernelError(f"the statement's check {stmt.claim.get('check')!r} cannot speak about "
                          f"the norm {stmt.claim.get('norm')!r}")
    evidence = cert.get("evidence")
    upper = lower = bounds = None
    shown = cert["error"].get("upper") != UNKNOWN
    alone = checker in (sc.neuron_band,)  # the statement's numbers: no network, no target
    if checker is not None and (net is not None and target is not None or alone) and \
            not isinstance(evidence, dict) and shown:
        raise KernelError(f"the statement's check {stmt.claim.get('check')} needs evidence, and this "
                          "certificate has none")
    # grid, piece and line checks follow ReLU and identity neurons only (no-relation no network)
    foreign = net is not None and not net.plain and checker not in (
        None, ev.sigma_identity, ev.sigma_sup, ev.sigma_range, sc.sigma_sup_levels, sc.smooth_sup,
        sc.no_relation, sc.emulation_sup, superposition_sup, superposition_pieces, sc.neuron_band)
    if checker is None or foreign or (net is None or target is None) and not alone or \
            not isinstance(evidence, dict):
        why = ("the statement names no kernel check" if checker is None else
               "network or target not followed by the kernel" if net is None or target is None
               or foreign else "no evidence: the certifier shows no upper bound")
        report.trusted.append(f"the error bounds ({stmt.method}: {why})")
    else:
        try:
            bounds = checker(stmt, env, net, target, evidence, cert)
        except ev.Undecided as why:
            report.trusted.append(f"the error bounds ({stmt.method}: {why})")
            return None, None
        while bounds.tighten is not None and not bounds.upper <= ball(bound) and \
                not (bounds.lower is not None and bounds.lower > ball(bound)):
            bounds = bounds.tighten()  # a cheaper pass did not decide: the next one
        upper, lower = bounds.upper, _with_witnesses(bounds, net, target, cert, stmt, report)
        if bounds.loose and not upper <= ball(bound) and not (lower is not None and lower > ball(bound)):
            # interval propagation alone on some boxes: a bound that does not decide the claim
            # says nothing against it (nor for it, unless an exact lower bound exceeds it), so
            # the certifier's bounds stay trusted, short of what the kernel's lower bound refutes
            report.trusted.append(f"the error bounds ({stmt.method}: the kernel's upper bound "
                                  f"{upper.str(5, radius=False)} rests on interval bounds on "
                                  f"{bounds.loose} box(es) and does not decide the claim)")
            if lower is not None and lower > _number(cert["error"].get("upper"), "error.upper", True):
                report.problems.append(f"the kernel's lower bound {lower.str(5, radius=False)} "
                                       "exceeds the stored upper bound")
            return None, None
        report.rederived.append(f"error upper bound from the {bounds.what}")
        report.trusted.extend(bounds.trusted)
        if "range" in stmt.claim and checker not in (ev.line_range, ev.split_range):
            if ev.range_shown(stmt, env, net):
                report.rederived.append("output range claim over all of R^d, through a layer of "
                                        "rank-one weights (the rest of the network exactly over R)")
            else:
                report.trusted.append("the claimed output range over R (the certifier's gadget "
                                      "certificates; this check does not follow it)")
        if bounds.range_ok is False:
            report.problems.append("the claimed output range does not hold")
        if bounds.range_ok is not None:
            report.rederived.append("output range claim")
    return lower, upper


def _with_witnesses(bounds: ev.Bounds, net: StoredNetwork, target: TargetExpression, cert: dict,
                    stmt: Statement, report: KernelReport) -> Optional[arb]:
    """The checker's lower bound, raised by the witnesses' exact errors where the statement is
    a sup over a region the checker names (a witness counts only inside it)."""
    lower = bounds.lower
    if bounds.inside is not None and stmt.claim.get("norm") == "Linf":
        try:
            wl = ev.witness_lower(net, target, cert.get("witnesses"), bounds.inside)
        except ev.Undecided:
            return lower  # witnesses over the budget: the checker's own lower bound stands
        if wl is not None:
            lower = wl if lower is None else lower.max(wl)
            report.rederived.append("witnesses re-evaluated exactly")
    return lower


def _verdict(cert: dict, stmt: Statement, bound: Any, lower: Optional[arb], upper: Optional[arb],
             stored_upper: arb, claims_ok: bool, report: KernelReport) -> None:
    """The verdict the (re-derived or, where listed as trusted, stored) bounds give; it must be
    the stored one."""
    stored = cert.get("verdict")
    if stored not in VERDICTS:
        raise KernelError(f"verdict {stored!r} is not one of {sorted(VERDICTS)}")
    report.bound_trusted = upper is None if stored in ("HOLDS", "CONDITIONAL") else \
        stored == "VIOLATED" and claims_ok and lower is None
    if lower is None:
        lower = _number(cert["error"].get("lower"), "error.lower")
        report.trusted.append("the lower bound, as stored (not re-derived by the kernel)")
    u = upper if upper is not None else stored_upper
    b = ball(bound)
    # a strict statement ("error < bound"): an error equal to the bound violates it
    strict = stmt.claim.get("strict", False) is True
    below = (u < b) if strict else (u <= b)
    above = (lower >= b) if strict else (lower > b)
    # the stored numbers must carry the stored word too (a reader takes them as the result)
    stored_lower = _number(cert["error"].get("lower"), "error.lower")
    if stored in ("HOLDS", "CONDITIONAL") and not ((stored_upper < b) if strict else (stored_upper <= b)) \
            or stored == "VIOLATED" and claims_ok and not ((stored_lower >= b) if strict else (stored_lower > b)):
        report.problems.append(f"the stored bounds do not give the stored verdict {stored}")
    # a bound that rests on a declared, unverified modulus: meeting it is conditional, and
    # exceeding it shows nothing about the theorem
    assumption = str(cert["target"].get("certified", "")).startswith("assumption")
    if not claims_ok:
        mine = "VIOLATED"
    elif below:
        mine = "CONDITIONAL" if assumption else "HOLDS"
    elif above and not assumption and not _hypothesis_failed(cert, report):
        mine = "VIOLATED"
    else:
        mine = "INCONCLUSIVE"
    gadgets = cert.get("gadgets")
    if not isinstance(gadgets, list) or not all(isinstance(g, dict) for g in gadgets):
        raise KernelError("gadgets is not a list of gadget certificates")
    if mine == "HOLDS" and not all(g.get("holds") is True for g in gadgets):
        mine = "INCONCLUSIVE"  # what the certifier relied on includes a specification not shown
    intrinsic = cert["architecture"].get("intrinsic")
    if mine == "HOLDS" and isinstance(intrinsic, dict) and intrinsic.get("tags_agree") is not True:
        mine = "INCONCLUSIVE"  # a position differs untagged: the intrinsic count is in doubt
    if stored == "INCONCLUSIVE" and mine == "HOLDS" and upper is not None and \
            not ((stored_upper < b) if strict else (stored_upper <= b)):
        # the kernel's bound is sharper than the certifier's: a certificate that leaves undecided
        # what is true understates, it does not mislead; the report says what the kernel shows
        report.sharper, mine = mine, stored
        report.rederived.append(f"the kernel's upper bound {upper.str(5, radius=False)} decides "
                                "the claim, which the certificate's own bounds leave open: HOLDS")
    report.verdict = mine
    if stored != mine:
        report.problems.append(f"verdict {stored} does not follow from the bounds (the kernel "
                               f"finds {mine})")
    report.rederived.append("verdict")


def _hypothesis_failed(cert: dict, report: KernelReport) -> bool:
    """The certifier's refutation of the theorem's hypothesis, taken as stated (and listed)."""
    failed = any("outside the theorem's hypothesis" in str(r) for r in cert.get("reasons") or [])
    if failed:
        report.trusted.append("the refutation of the theorem's hypothesis (its witness pair)")
    return failed
