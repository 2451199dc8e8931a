"""Theorem A.1 of the intrinsic, NestNet and compositions papers: "δ arbitrary in (0, 1/(3K)]".

δ is the bounded rational parameter ``delta_fraction`` t: δ = t/(3K) for t ∈ (0, 1] (t = 1 is the
endpoint 1/(3K)); the NestNet and compositions entries keep their old default (t = 0: the largest
power of two ≤ 1/(3K)), the intrinsic one has t ∈ [1/1024, 1] with default 1 = its old δ.
"""

import json

import pytest

from certify.certificate import run_theorem
from certify.kernel.check import check_certificate_data
from constructive.errors import UserError

SWEEPS = {
    "syz-intrinsic-aux-offtrifling": ["1/1024", "1/3", "1"],
    "nestnet-offtrifling": ["1/1000", "1/3", "1"],
    "zlz-composition-offtrifling": ["1/1000", "1/3", "1"],
}


@pytest.mark.parametrize("theorem_id", sorted(SWEEPS))
def test_theorem_a1_holds_across_delta_up_to_the_endpoint(theorem_id):
    digests = set()
    for t in SWEEPS[theorem_id]:
        cert = run_theorem(theorem_id, {"delta_fraction": t})
        assert cert["verdict"] == "HOLDS", (t, cert["reasons"])
        report = check_certificate_data(json.loads(json.dumps(cert)))
        assert report.ok and report.verdict == "HOLDS", (t, report.problems)
        digests.add(cert["network"]["digest"])
    # δ reaches the network: every δ builds another one
    assert len(digests) == len(SWEEPS[theorem_id])


@pytest.mark.parametrize("theorem_id", sorted(SWEEPS))
def test_delta_outside_its_domain_is_refused(theorem_id):
    with pytest.raises(UserError, match="delta_fraction"):
        run_theorem(theorem_id, {"delta_fraction": "2"})


def test_certify_table_sweeps_delta(tmp_path):
    from certify.cli import main

    out = tmp_path / "delta.csv"
    assert main(["table", "syz-intrinsic-aux-offtrifling", "--sweep", "delta_fraction=1/1024,1",
                 "--format", "csv", "--output", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0].startswith("delta_fraction,verdict")
    assert [r.split(",")[:2] for r in rows[1:]] == [["1/1024", "HOLDS"], ["1", "HOLDS"]]
