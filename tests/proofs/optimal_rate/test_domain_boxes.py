"""Theorem 2.5 on a preset union of boxes E (proofs/optimal_rate/domain.py, domain_methods.py):
the extensions read the target only on E, equal it there and keep its modulus; the McShane
enclosure brackets a known value; the certificate on E = cube is the existing one's; witnesses
are points of E with the stated error; bad input is one line with exit 2."""

import subprocess
import sys

import pytest
from flint import arb, fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import run_theorem
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.targets import make_target
from proofs.optimal_rate.domain import (IntervalExtension, McShaneExtension, domain_boxes, in_domain, presets,
                                        volume)

LINF, LP = "syz-bounded-domain-boxes", "syz-bounded-domain-boxes-lp"
unit = st.fractions(0, 1, max_denominator=60).map(lambda q: fmpq(q.numerator, q.denominator))


class Recording:
    """A target that records where it is read (points and boxes)."""

    def __init__(self, target):
        self.t, self.points, self.boxes = target, [], []
        for k in ("name", "dim", "lam", "alpha", "rational_valued", "certified"):
            setattr(self, k, getattr(target, k))

    def exact(self, point):
        self.points.append(list(point))
        return self.t.exact(point)

    def ball(self, point, prec=128):
        self.points.append(list(point))
        return self.t.ball(point, prec)

    def enclose(self, box, prec=128):
        self.boxes.append(list(box))
        return self.t.enclose(box, prec)


@pytest.mark.parametrize("name", list(presets()))
@pytest.mark.parametrize("d", [1, 2])
def test_domains_lie_in_the_cube_with_disjoint_interiors(name, d):
    boxes = domain_boxes(name, d)
    total = sum((volume(b) for b in boxes), fmpq(0))
    assert 0 < total <= 1 and all(len(b) == d for b in boxes)
    assert (total == 1) == (name == "cube")


def test_a_domain_outside_the_list_is_a_user_error():
    with pytest.raises(UserError, match="E='disk' is not allowed .*; use one of frame"):
        domain_boxes("disk", 1)
    with pytest.raises(UserError, match="d = 1 or 2"):
        domain_boxes("frame", 3)


@pytest.mark.parametrize("args,needle", [
    (["-p", "E=disk"], "E='disk' is not allowed"),
    pytest.param(["--target", "peak2d"], "is 2-dimensional; got dim=1", marks=pytest.mark.slow)])
def test_bad_input_is_one_line_exit_2(args, needle):
    res = subprocess.run([sys.executable, "-m", "certify.cli", "run", LINF, *args],
                         capture_output=True, text=True)
    assert res.returncode == 2 and needle in res.stderr and "Traceback" not in res.stderr, res.stderr


@pytest.mark.parametrize("spec", ["abs", "sqrt"])
@given(x=unit, y=unit)
@settings(max_examples=60, deadline=None)
def test_the_1d_extension_keeps_the_modulus_and_reads_only_E(spec, x, y):
    """|g(x) − g(y)| ≤ λ|x − y|^α (exactly for abs, α = 1; never provably broken for sqrt,
    α = 1/2), g = t on U, and every point read lies in U."""
    rec = Recording(make_target(spec, 1))
    for name in ("frame", "two-boxes"):
        boxes = domain_boxes(name, 1)
        g = IntervalExtension(rec, boxes)
        if spec == "abs":
            gx, gy = g.exact([x]), g.exact([y])
            assert abs(gx - gy) <= abs(x - y)
            if in_domain(boxes, [x]):
                assert gx == rec.t.exact([x])
        else:
            diff = abs(g.ball([x]) - g.ball([y]))
            assert not diff > arb(rec.lam) * arb(abs(x - y)).sqrt()
        assert all(in_domain(boxes, p) for p in rec.points)
        rec.points.clear()


def test_the_mcshane_enclosure_brackets_a_known_value_and_reads_only_E():
    """t = ‖u − c‖ (λ = 1) with c in U: inf_{v∈U} ‖v − c‖ + ‖u − v‖ = ‖u − c‖ (v = c and the
    triangle inequality), so the enclosure must contain it, within its tolerance."""
    c = (fmpq(1, 5), fmpq(1, 2))
    rec = Recording(make_target(f"dist:c={c[0]},{c[1]}", 2))
    boxes = domain_boxes("frame", 2)
    g = McShaneExtension(rec, boxes, fmpq(1, 50))
    for u in [(fmpq(1, 2), fmpq(1, 2)), (fmpq(2, 5), fmpq(3, 5)), (fmpq(13, 20), fmpq(9, 20))]:
        lo, hi = g.bounds(list(u))
        d2 = (u[0] - c[0]) ** 2 + (u[1] - c[1]) ** 2  # lo <= sqrt(d2) <= hi, exactly
        assert (lo <= 0 or lo * lo <= d2) and 0 <= hi and d2 <= hi * hi and hi - lo <= fmpq(1, 50)
    inside = [fmpq(1, 10), fmpq(1, 10)]
    a, b = g.ball(inside), rec.t.ball(inside)  # the same ball: t itself on U
    assert a.mid() == b.mid() and a.rad() == b.rad()
    assert rec.points and rec.boxes
    assert all(in_domain(boxes, p) for p in rec.points)
    assert all(any(all(a <= lo and hi <= b for (lo, hi), (a, b) in zip(s, box)) for box in boxes)
               for s in rec.boxes)


@pytest.mark.parametrize("tid,old", [(LINF, "syz-bounded-domain"), (LP, "syz-bounded-domain-lp")])
def test_on_the_cube_the_certificate_is_the_existing_one(tid, old):
    new, base = run_theorem(tid, {"E": "cube"}), run_theorem(old, {})
    assert new["verdict"] == base["verdict"] == "HOLDS"
    assert new["network"]["digest"] == base["network"]["digest"]
    if tid == LINF:
        assert (new["error"]["lower"], new["error"]["upper"]) == (base["error"]["lower"], base["error"]["upper"])
    else:
        for key in ("lower", "upper"):
            assert (arb(new["error"][key]) - arb(base["error"][key])).contains(0)


@pytest.mark.parametrize("params", [{}, pytest.param({"d": "2"}, marks=pytest.mark.slow)])
def test_the_witness_is_a_point_of_E_with_at_least_its_error(params):
    """The p = ∞ witness: a point x of E (the certificate's boxes of E), and |f(x) − φ(x)| at it,
    evaluated exactly with f(x) = t((x + R)/(2R)), is at least the certified lower bound."""
    from constructive.targets import make_target as mk
    from proofs.optimal_rate.domain import build_domain

    cert = run_theorem(LINF, params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    d, R = int(params.get("d", "1")), fmpq(3)
    (w,) = cert["witnesses"]
    x = [fmpq(*map(int, v.split("/"))) if "/" in v else fmpq(int(v)) for v in w["x"]]
    boxes_E = [[tuple(fmpq(*map(int, s.split("/"))) if "/" in s else fmpq(int(s)) for s in iv)
                for iv in box] for box in cert["details"]["E_boxes"]]
    assert in_domain(boxes_E, x)
    t = mk("abs", d)
    net = build_domain({"d": d, "N": 7, "L": 1, "R": R, "E": "frame"}, t)
    phi = evaluate(net, [[v] for v in x])[0][0]
    f = t.exact([(v + R) / (2 * R) for v in x])
    assert abs(f - phi) >= fmpq(*map(int, w["error_lower"].split("/")))


def test_the_lp_error_on_a_smaller_E_is_smaller():
    """The frame's L^p error is below the cube's for the same target and sizes (the network
    differs only through the extension; the frame drops the gap)."""
    frame, cube = run_theorem(LP, {}), run_theorem(LP, {"E": "cube"})
    assert frame["verdict"] == cube["verdict"] == "HOLDS"
    assert arb(frame["error"]["upper"]) < arb(cube["error"]["upper"])
