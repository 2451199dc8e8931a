"""PEUAF: class-A witness, second-difference product, Lemma 3 integer-relation check."""

from __future__ import annotations

import pytest
from flint import arb, fmpq

from certify.certificate import run_theorem
from constructive.activations.euaf import sigma1_exact
from constructive.errors import UserError
from constructive.evaluate import evaluate
from proofs.peuaf.build import second_difference, witness
from proofs.peuaf.check import no_relation_below


def test_witness_is_triangle_wave():
    for w in (fmpq(1, 2), fmpq(3), fmpq(1)):
        pts = [fmpq(k, 5) for k in range(0, 60)]
        got = evaluate(witness(w), [pts])[0]
        assert got == [sigma1_exact(x) for x in pts]
    c = run_theorem("peuaf-def", {"w": "1/3"})
    assert c["verdict"] == "HOLDS" and c["details"]["not_polynomial"] is True


def test_second_difference_order_delta():
    prev = None
    for d in ("1/100", "1/1000"):
        c = run_theorem("peuaf-second-difference-product", {"delta": d})
        assert c["verdict"] == "HOLDS"
        e = float(c["details"]["upper_float"])
        if prev is not None:
            assert 8 < prev / e < 12  # O(delta)
        prev = e
    net = second_difference(-1, fmpq(1, 10))
    assert evaluate(net, [[fmpq(3, 7)], [fmpq(0)]])[0][0] == 0
    with pytest.raises(UserError):
        run_theorem("peuaf-second-difference-product", {"delta": "1/2", "M": "2"})
    with pytest.raises(UserError):
        second_difference(1, fmpq(1, 10))


def test_independence():
    c = run_theorem("peuaf-analytic-independence", {"K": "5", "H": "500"})
    assert c["verdict"] == "HOLDS" and c["details"]["pslq_relation"] is None
    # rational values: the relation 1*(1/3)*3 - 1*1 exists, so it must not be excluded
    vals = [arb(fmpq(1, 3)), arb(1), arb(fmpq(2, 7))]
    ok, _ = no_relation_below(vals, 3, 60)
    assert not ok


def test_second_difference_refuses_arguments_in_the_periodic_part(capsys):
    """Found by `certify fuzz`: with x0 + 2δM > 0 some arguments x0 + δ(x + y) are positive, where
    PEUAF is periodic and the softsign bound says nothing; it once produced an upper bound below
    the exact grid error (an internal contradiction).  Such instances are refused up front."""
    from certify.cli import main

    args = ["run", "peuaf-second-difference-product", "-p", "delta=1/100", "-p", "M=1", "-p", "w=1"]
    assert main(args + ["-p", "x0=-1/1000"]) == 2
    assert "x0 + 2 delta M <= 0" in capsys.readouterr().err
    assert main(args + ["-p", "x0=-1/50"]) == 0  # every argument ≤ 0: HOLDS
