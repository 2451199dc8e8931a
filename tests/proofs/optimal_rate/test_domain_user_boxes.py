"""Theorem 2.5 on a user-given E (the parameter kind ``boxes``: certify/registry.py,
proofs/optimal_rate/domain.py): a union of boxes given on the command line HOLDS and its
certificate re-checks; a moved weight on it is refused HOLDS; bad values are one line with exit
2; a preset and the same boxes written out certify the same bound; overlapping boxes are
rewritten exactly as boxes with disjoint interiors (no measure counted twice)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import cli
from certify.kernel import check_certificate_data
from certify.registry import default_registry, format_box_union, parse_box_union
from constructive.numbers import as_fmpq
from proofs.optimal_rate.domain import disjoint_union, domain_boxes, in_domain, volume
from tests.mutants.harness import Mutant, assert_dies
from tests.mutants.mutate import affine_sites, first_effective_nudge, gadgets_named

LINF, LP = "syz-bounded-domain-boxes", "syz-bounded-domain-boxes-lp"
E1 = "[0,1/3];[2/3,1]"
E2 = "[0,1/2]x[0,1];[1/2,1]x[0,1/4]"
FRAME_2D = "[0,3/10]x[0,1];[7/10,1]x[0,1];[3/10,7/10]x[0,3/10];[3/10,7/10]x[7/10,1]"


def _run(tmp_path, tid, *params):
    path = tmp_path / "cert.json"
    argv = ["run", tid, *[a for p in params for a in ("-p", p)], "--json", str(path)]
    assert cli.main(argv) == 0
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("tid,d,E", [(LINF, "1", E1), (LP, "2", E2)])
def test_a_user_given_E_holds_and_its_certificate_checks(tmp_path, capsys, tid, d, E):
    path, cert = _run(tmp_path, tid, f"d={d}", f"E={E}")
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert cert["params"]["E"] == E  # the canonical text is what the user wrote here
    assert cli.main(["check", str(path)]) == 0
    assert cli.main(["check", "--rebuild", str(path)]) == 0
    report = check_certificate_data(json.loads(path.read_text()))
    assert report.ok and report.verdict == "HOLDS", report.problems
    assert "verified: HOLDS" in capsys.readouterr().out


def test_the_kernel_refuses_a_certificate_whose_E_leaves_the_domain(tmp_path):
    _, cert = _run(tmp_path, LINF, f"E={E1}")
    for bad in ("[0,1/3];[2/3,3/2]", "[0,1/3]x[0,1]", "[1/3,1/3]", ";".join(["[0,1]"] * 17)):
        report = check_certificate_data({**cert, "params": {**cert["params"], "E": bad}})
        assert not report.ok, bad


def _centres_in_E(i, count=40):
    """Points x = 2Ru − R of E on a grid inside U, as inputs of the whole network."""
    d, R = int(i.params["d"]), as_fmpq(i.params["R"])
    boxes = domain_boxes(str(i.params["E"]), d)
    grid = [fmpq(2 * k + 1, 2 * count) for k in range(count)]
    pts = [[u] * d for u in grid] + ([[u, v] for u in grid[::4] for v in grid[::4]] if d == 2 else [])
    return [[2 * R * u - R for u in p] for p in pts if in_domain(boxes, p)]


def _step_map_weight(i):
    g = gadgets_named(i.net, "syz-step-map")[0]
    return first_effective_nudge(i.net, [s.node for s in affine_sites(g)], _centres_in_E(i))


@pytest.mark.parametrize("tid,params", [(LP, {"E": E1}), (LINF, {"E": "[1/10,1/3];[1/4,9/10]"}),
                                        (LP, {"d": "2", "E": E2})])
def test_a_moved_weight_on_a_user_given_E_does_not_hold(tid, params):
    m = Mutant(f"user-E-step-weight-{tid}-{params}", tid, params,
               "Thm 2.5 on a user's E: a weight of the step map moved by 2^-40", mutate=_step_map_weight)
    assert_dies(m)


@pytest.mark.parametrize("value,needle", [
    ("[0,1/2]x[0,1]", "has boxes of 2 axes but d=1"),
    ("[1/2,1/2]", "not an interval 0 <= lo < hi <= 1"),
    ("[0,3/2]", "not an interval 0 <= lo < hi <= 1"),
    ("[-1/2,1/2]", "not an interval 0 <= lo < hi <= 1"),
    ("[0,1/3", "is not an interval [lo,hi]"),
    ("[0,a]", "'a' is not a rational number"),
    ("[0,1/0]", "'1/0' is not a rational number"),
    ("[0,1/1048577]", "denominator above 1048576"),
    (";".join(["[0,1]"] * 17), "17 boxes, more than 16"),
    ("disk", "is not an interval [lo,hi]"),
    ("[0,1]x[0,1];[0,1]", "the boxes have 2 and 1 axes"),
])
def test_a_bad_E_is_one_line_with_exit_2(capsys, value, needle):
    assert cli.main(["run", LINF, "-p", f"E={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "E=" in err and "frame" in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_the_canonical_text_is_stable():
    p = default_registry().get(LINF).parameters["E"]
    assert p.parse(" [0, 0.5] x [0,2/4] ; [.25,1]x[0,1]") == "[0,1/2]x[0,1/2];[1/4,1]x[0,1]"
    assert p.parse("[0,1/2]x[0,1/2];[1/4,1]x[0,1]") == "[0,1/2]x[0,1/2];[1/4,1]x[0,1]"
    assert p.parse("frame") == "frame"


def test_a_preset_and_its_boxes_written_out_certify_the_same_bound(tmp_path):
    _, preset = _run(tmp_path, LINF, "d=2", "E=frame")
    _, written = _run(tmp_path, LINF, "d=2", f"E={FRAME_2D}")
    assert preset["verdict"] == written["verdict"] == "HOLDS"
    assert preset["network"]["digest"] == written["network"]["digest"]
    assert preset["error"] == written["error"]
    assert written["params"]["E"] == FRAME_2D != preset["params"]["E"]


def test_overlapping_boxes_measure_their_union_once(tmp_path):
    """The 1-D frame written with overlaps: the same network, E's volume and the measure of
    the rest are the frame's (a double count would add 1/10)."""
    _, frame = _run(tmp_path, LP, "E=frame")
    _, overlap = _run(tmp_path, LP, "E=[0,1/5];[0,3/10];[1/10,1/5];[7/10,1]")
    assert frame["verdict"] == overlap["verdict"] == "HOLDS"
    assert frame["network"]["digest"] == overlap["network"]["digest"]
    for key in ("E_volume_in_cube", "rest_measure"):
        assert frame["details"][key] == overlap["details"][key], key


def _grid_volume(boxes):
    """The exact volume of a union of boxes: cells of the grid of all their ends, counted by
    whether their centre lies in the union."""
    d = len(boxes[0])
    cuts = [sorted({e for b in boxes for e in b[i]}) for i in range(d)]
    cells = [[]]
    for axis in cuts:
        cells = [c + [(a, b)] for c in cells for a, b in zip(axis, axis[1:])]
    return sum((volume(c) for c in cells if in_domain(boxes, [(a + b) / 2 for a, b in c])), fmpq(0))


ends = st.lists(st.integers(0, 6), min_size=2, max_size=2, unique=True).map(sorted)


@settings(max_examples=60, deadline=None)
@given(d=st.integers(1, 2), data=st.data())
def test_disjoint_union_keeps_the_union_with_disjoint_interiors(d, data):
    raw = data.draw(st.lists(st.lists(ends, min_size=d, max_size=d), min_size=1, max_size=5))
    boxes = [[(fmpq(a, 6), fmpq(b, 6)) for a, b in box] for box in raw]
    out = disjoint_union(boxes)
    assert sum((volume(b) for b in out), fmpq(0)) == _grid_volume(boxes)  # no double count
    for k, a in enumerate(out):
        assert all(lo < hi for lo, hi in a)
        assert any(all(c <= lo and hi <= e for (lo, hi), (c, e) in zip(a, b)) for b in boxes)
        for b in out[k + 1:]:
            assert any(max(p, r) >= min(q, s) for (p, q), (r, s) in zip(a, b))
    text = format_box_union([[(Fraction(a, 6), Fraction(b, 6)) for a, b in box] for box in raw])
    assert parse_box_union(text, 16, 6) == [[(Fraction(a, 6), Fraction(b, 6)) for a, b in box] for box in raw]


def test_show_prints_the_domain_of_E_as_written(capsys):
    assert cli.main(["show", LINF]) == 0
    out = "".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "'[lo,hi]x[lo,hi];...'in[0,1]^d" in out and "boxes[lo,hi]x[lo,hi];...,overlapsallowed" in out


@pytest.mark.parametrize("tid", [LINF, LP])
def test_a_constant_target_in_2d_is_its_own_extension(tmp_path, tid):
    """ω = 0 makes the bound 0: off U the McShane enclosure's upper end (a hair above 1/3)
    would be stored and the error would be > 0; the constant itself is stored instead."""
    path = tmp_path / "cert.json"
    assert cli.main(["run", tid, "-p", "d=2", "-p", "N=1", "-p", f"E={E2}", "--target", "const:v=1/3",
                     "--json", str(path)]) == 0
    cert = json.loads(path.read_text())
    assert cert["verdict"] == "HOLDS" and cert["error"]["bound"] == "0", cert["reasons"]


def test_huge_integers_of_the_group_evaluator_are_not_read_as_floats():
    """p = 64, L = 3: weights whose numerators pass float's range (an OverflowError before)."""
    from certify.certificate import run_theorem

    cert = run_theorem(LP, {"N": "3", "L": "3", "p": "64"})
    assert cert["verdict"] == "HOLDS", cert["reasons"]
