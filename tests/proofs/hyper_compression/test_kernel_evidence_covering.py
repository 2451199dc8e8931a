"""The checker kernel re-derives the k = 1 covering radius of the codec's winding (check
``covering``): the codewords come from the statement (frac(θA/2^32), A from the golden ratio),
the network must be their score layer, and the radius is the exact largest (half-)gap."""

from __future__ import annotations

import copy

import pytest
from flint import arb, ctx, fmpq

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


# k = 2: clipped cells -------------------------------------------------------------------------
K2 = "hc-winding-covering-k2"


@pytest.mark.parametrize("params", [{}, {"domain": "torus"}, {"n": "114"}, {"n": "5", "domain": "torus"}])
def test_kernel_rederives_the_2d_radius_from_the_cells(params):
    c = cert(K2, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.trusted == ["the network digest names the builder's network (check --rebuild "
                              "compares them)"]
    exact = fmpq(*map(int, c["details"]["radius_squared"].split("/")))
    with ctx.workprec(256):  # the radius is known exactly: a ball of 2^-200 around √exact
        assert (report.upper - report.lower).upper() < arb(2) ** -200
        assert (report.upper ** 2).contains(exact) or abs(report.upper ** 2 - exact) < arb(2) ** -200
    assert report.verdict == "HOLDS"


def _with_neighbours(c: dict, cells: list) -> dict:
    forged = copy.deepcopy(c)
    forged["evidence"]["neighbours"] = cells
    forged["hash"] = content_hash(forged)
    return forged


def test_any_neighbour_set_is_sound_every_point_gives_the_same_radius():
    c = cert(K2, n="9")
    n = 9
    every = [[[j, 0, 0] for j in range(n) if j != i] for i in range(n)]
    assert check_certificate_data(_with_neighbours(c, every)).upper == check_certificate_data(c).upper


def test_a_cell_left_unclipped_is_not_holds():
    """Without its neighbours a cell is the whole square: the kernel's bound no longer meets the
    claim, so the stored HOLDS does not follow."""
    c = cert(K2)
    cells = copy.deepcopy(c["evidence"]["neighbours"])
    cells[0] = []
    report = check_certificate_data(_with_neighbours(c, cells))
    assert not report.ok and report.verdict != "HOLDS"


@pytest.mark.parametrize("entry", [[10 ** 6, 0, 0], [1, 2, 0], [1, 1, 0], ["1", 0, 0], [1, 0]])
def test_malformed_or_out_of_domain_neighbours_are_refused(entry):
    """An index past the codebook, a translation beyond one period, any translation on the cube."""
    c = cert(K2)
    cells = copy.deepcopy(c["evidence"]["neighbours"])
    cells[3].append(entry)
    assert not check_certificate_data(_with_neighbours(c, cells)).ok


def test_a_2d_codeword_moved_by_2_to_the_minus_40_is_refused():
    c = cert(K2)
    forged = copy.deepcopy(c)
    layer = forged["network"]["layers"]["layers"][0]
    i, j, w = layer["W"][0]
    layer["W"][0][2] = str(fmpq(*map(int, (w + "/1").split("/")[:2])) + fmpq(1, 2 ** 39))
    p = [fmpq(0), fmpq(0)]
    for r, col, v in layer["W"]:
        if r == i:
            p[col] = fmpq(*map(int, (v + "/1").split("/")[:2])) / 2
    for entry in layer["b"]:
        if entry[0] == i:
            entry[1] = str(-(p[0] ** 2 + p[1] ** 2))
    report = check_certificate_data(forged)
    assert not report.ok and any("codewords" in q for q in report.problems)


# k = 3: dyadic boxes --------------------------------------------------------------------------
K3 = "hc-winding-covering-k3"


def _with_leaves(c: dict, leaves: list) -> dict:
    forged = copy.deepcopy(c)
    forged["evidence"]["leaves"] = leaves
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("n", ["8", "512"])
def test_kernel_rederives_the_3d_bound_from_the_boxes(n):
    c = cert(K3, n=n)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.trusted == ["the network digest names the builder's network (check --rebuild "
                              "compares them)"]
    assert report.lower > 0 and report.verdict == "HOLDS"


def test_splitting_a_leaf_into_its_eight_children_still_tiles():
    c = cert(K3)
    leaves = copy.deepcopy(c["evidence"]["leaves"])
    level, i, j, k, owner = leaves.pop(0)
    leaves += [[level + 1, 2 * i + a, 2 * j + b, 2 * k + e, owner]
               for a in (0, 1) for b in (0, 1) for e in (0, 1)]
    report = check_certificate_data(_with_leaves(c, leaves))
    assert report.ok and report.upper <= check_certificate_data(c).upper


@pytest.mark.parametrize("edit", ["drop", "duplicate", "nest", "far-owner", "outside"])
def test_boxes_that_do_not_tile_or_do_not_cover_are_refused(edit):
    c = cert(K3)
    leaves = copy.deepcopy(c["evidence"]["leaves"])
    level, i, j, k, owner = leaves[0]
    if edit == "drop":
        leaves.pop(0)
    elif edit == "duplicate":
        leaves.append(list(leaves[0]))
    elif edit == "nest":
        leaves.append([level + 1, 2 * i, 2 * j, 2 * k, owner])
    elif edit == "far-owner":  # the codeword farthest from the box: its corner is far away
        points = [(fmpq(t * 3518319155 % 2 ** 32, 2 ** 32), fmpq(t * 2882110345 % 2 ** 32, 2 ** 32))
                  for t in range(512)]
        leaves[0][-1] = max(range(512), key=lambda t: (points[t][0] - fmpq(i, 2 ** level)) ** 2
                            + (points[t][1] - fmpq(j, 2 ** level)) ** 2)
    else:
        leaves[0][1] = 2 ** level
    report = check_certificate_data(_with_leaves(c, leaves))
    assert not report.ok and report.verdict != "HOLDS"


def test_the_statement_directions_are_the_codecs():
    """The directions the claims use: A_i = round(2^32 g^-i), g^(k+1) = g + 1, as the codec's."""
    import mpmath

    from certify.kernel.claims import load_statements
    from proofs.hyper_compression.points import codec_direction
    for tid, k in [(TID, 1), (K2, 2), (K3, 3)]:
        stmt = load_statements()[tid]
        env = stmt.values({name: str(spec["default"]) for name, spec in stmt.parameters.items()},
                          fmpq(1), fmpq(1))
        stated = tuple(int(env[f"A{i}"].p) for i in range(1, k + 1)) if k > 1 else (int(env["A"].p),)
        g = mpmath.findroot(lambda x: x ** (k + 1) - x - 1, 1.3)
        assert stated == codec_direction(k) == tuple(int(mpmath.nint(2 ** 32 / g ** i))
                                                     for i in range(1, k + 1))
