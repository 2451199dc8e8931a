"""Theorem 4 (exact classification) of the EUAF paper: verdicts and bad input."""

from __future__ import annotations

import pytest
from flint import fmpq

from certify.certificate import run_theorem
from constructive.errors import UserError
from proofs.fixed_sigma.classify import Set, intersect, parse_sets


def test_classification_d2_three_sets_exact():
    c = run_theorem("syz-fixed-sigma-classification", {"sets": "d2-three", "d": "2"})
    assert c["verdict"] == "HOLDS"
    assert c["error"]["upper"] == "0"
    m = c["architecture"]["measured"]
    assert m["width"] <= 360 and m["depth"] == 12 and m["params"] <= 82635
    assert [s["equals_label"] for s in c["details"]["sets"]] == [True, True, True]
    assert all(s["rounding_exact"] for s in c["details"]["sets"])


@pytest.mark.slow
@pytest.mark.parametrize("name,d", [("d1-two", "1"), ("d2-three-mixed", "2")])
def test_classification_more(name, d):
    c = run_theorem("syz-fixed-sigma-classification", {"sets": name, "d": d})
    assert c["verdict"] == "HOLDS"


def test_intersections_exact():
    box = Set("box", ((fmpq(0), fmpq(1, 2)), (fmpq(0), fmpq(1, 2))))
    ball = lambda cx, cy, r: Set("ball", ((cx - r, cx + r), (cy - r, cy + r)), (cx, cy), r)  # noqa: E731
    assert intersect(box, ball(fmpq(1, 2), fmpq(1, 2), fmpq(1, 10)))  # corner inside the ball
    assert not intersect(box, ball(fmpq(6, 10), fmpq(6, 10), fmpq(1, 10)))  # dist^2 = 2/100 > 1/100
    assert intersect(ball(fmpq(1, 4), fmpq(1, 4), fmpq(1, 8)), ball(fmpq(1, 2), fmpq(1, 4), fmpq(1, 8)))


def test_classification_bad_input():
    with pytest.raises(UserError, match="overlap"):
        run_theorem("syz-fixed-sigma-classification", {"sets": "d2-overlap"})
    with pytest.raises(UserError, match="not an exact rational"):
        run_theorem("syz-fixed-sigma-classification", {"sets": "d2-irrational"})
    with pytest.raises(UserError, match="d=1"):
        run_theorem("syz-fixed-sigma-classification", {"sets": "d1-two", "d": "2"})
    with pytest.raises(UserError, match="kind"):
        parse_sets([("cone", [], "1")], 2)


def test_an_instance_over_the_fitting_budget_is_refused_before_any_work(monkeypatch, capsys):
    """The earlier placement of d2-three-mixed (ball at (1/5, 1/4), radius 1/10) needs K = 94
    fitted points in g_0's sub-network, about ten minutes: refused in one line, nothing built."""
    from certify.cli import main
    from proofs.fixed_sigma import classify, kst
    monkeypatch.setitem(classify.INSTANCES, "d2-three-mixed", [
        ("ball", ("1/5", "1/4"), "1/10", "1/3"), ("box", [("1/2", "3/5"), ("1/2", "7/10")], "2/3"),
        ("box", [("4/5", "9/10"), ("1/10", "1/5")], "0")])

    def never(*args, **kwargs):
        raise AssertionError("the network was built")
    monkeypatch.setattr(kst, "assemble", never)
    monkeypatch.setattr(classify, "assemble", never)
    assert main(["run", "syz-fixed-sigma-classification", "-p", "sets=d2-three-mixed"]) == 2
    err = capsys.readouterr().err.strip()
    assert "sets=d2-three-mixed" in err and "K=94" in err and len(err.splitlines()) == 1
