"""The checker kernel re-derives the k = 1 covering radius of the codec's winding (check
``covering``): the codewords come from the statement (frac(θA/2^32), A from the golden ratio),
the network must be their score layer, and the radius is the exact largest (half-)gap."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert, moved

TID = "hc-winding-gaps-k1"


def _radius(points: list, torus: bool) -> fmpq:
    """The covering radius by brute force over the candidate worst points (ends and midpoints)."""
    candidates = [fmpq(0), fmpq(1)] + [(a + b) / 2 for a in points for b in points]
    def dist(x, p):
        d = abs(x - p)
        return min(d, 1 - d) if torus else d
    return max(min(dist(x, p) for p in points) for x in candidates if 0 <= x <= 1)


@pytest.mark.parametrize("params", [{}, {"domain": "torus"}, {"n": "7"}, {"n": "7", "domain": "torus"},
                                    {"n": "2"}])
def test_kernel_rederives_the_exact_radius(params):
    c = cert(TID, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.fully_rederived is False  # the digest stays trusted, nothing else
    assert report.trusted == ["the network digest names the builder's network (check --rebuild "
                              "compares them)"]
    assert str(report.upper.mid()) == str(report.lower.mid())
    assert report.verdict == c["verdict"] == "HOLDS"


@pytest.mark.parametrize("torus", [False, True])
def test_the_radius_is_the_brute_force_one(torus):
    n = 13
    c = cert(TID, n=str(n), **({"domain": "torus"} if torus else {}))
    A = 2654435769
    points = [fmpq(k * A % 2 ** 32, 2 ** 32) for k in range(n)]
    assert check_certificate_data(c).upper == _radius(points, torus)


def _codeword_moved(c: dict, amount: fmpq) -> dict:
    """The score row of the first stored codeword p moved to p + amount, consistently (2p, −p²)."""
    forged = copy.deepcopy(c)
    layer = forged["network"]["layers"]["layers"][0]
    i, _, w = layer["W"][0]
    p = fmpq(*map(int, (w + "/1").split("/")[:2])) / 2 + amount
    layer["W"][0][2] = str(2 * p)
    for entry in layer["b"]:
        if entry[0] == i:
            entry[1] = str(-p * p)
    forged["hash"] = content_hash(forged)
    return forged


def test_a_codeword_moved_by_2_to_the_minus_40_is_refused():
    report = check_certificate_data(_codeword_moved(cert(TID), fmpq(1, 2 ** 40)))
    assert not report.ok and any("codewords" in p for p in report.problems)


@pytest.mark.parametrize("key", ["W", "b"])
def test_a_score_weight_moved_alone_is_refused(key):
    report = check_certificate_data(moved(cert(TID), 0, key, fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict != "HOLDS"


def test_a_forged_smaller_radius_is_refused():
    c = cert(TID)
    forged = copy.deepcopy(c)
    forged["error"]["upper"] = forged["error"]["lower"] = "1/1000000"
    forged["error"]["ratio"] = str(fmpq(1, 1000000) / fmpq(13, 2560))
    report = check_certificate_data(forged)
    assert not report.ok


def test_the_torus_radius_is_not_accepted_for_the_cube():
    """The domain is the statement's parameter: a torus certificate relabelled cube is refused
    (the radius differs: the cube also counts the ends 0 and 1)."""
    c = cert(TID, n="7", domain="torus")
    forged = copy.deepcopy(c)
    forged["params"]["domain"] = "cube"
    assert not check_certificate_data(forged).ok


def test_a_bound_tightened_below_the_truth_is_not_holds(monkeypatch):
    from certify.kernel import claims
    stmt = claims.load_statements()[TID]
    monkeypatch.setitem(claims.load_statements(), TID, type(stmt)(
        **{**stmt.__dict__, "derived": dict(stmt.derived, C="1/10")}))
    c = cert(TID)
    report = check_certificate_data(c)
    assert report.verdict != "HOLDS" and not report.ok  # stored HOLDS no longer follows
