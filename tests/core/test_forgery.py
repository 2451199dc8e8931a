"""Forged certificates: random edits of every meaning-carrying field, hash recomputed, must be
rejected by ``certify check`` (kernel + target re-derivation + rebuild).

An edit of the evidence or the witnesses may leave a certificate that still proves the same
verdict (a cut added, a witness moved inside the region): such an edit carries no meaning, and is
accepted only when the kernel re-derives the original verdict from the edited evidence.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certify.certificate import content_hash, run_theorem
from certify.checker import check_data
from certify.kernel.claims import statement
from constructive.errors import UserError

INSTANCES = [
    ("syz-cpwl-one-layer", {"n": "5"}),
    ("syz-intrinsic-aux-offtrifling", {"n": "2", "d": "1"}),
    ("syz-intrinsic-lp", {"n": "2", "d": "1", "p": "2"}),
    ("syz-cpwl-interpolation", {"n": "5"}),
    ("syz-bit-extraction", {"J": "6"}),
    ("euaf-square-exact", {}),
    ("nestnet-floor-c1", {"r": "2", "n": "2"}),  # statement pieces, nested activations stored flat
    ("syz-point-fit", {"J": "6"}),                # statement pieces over the instance's data y
    ("zlz-step-by-iteration", {}),                # a repeated block stored once (network.layers.repeat)
    ("nestnet-point-fit", {"s": "2"}),            # activation networks stored once (network.layers.activations)
]
MEANINGLESS = ("timings", "notes", "reasons", "tool_version", "source", "details", "gadgets")
EVIDENCE_ONLY = ("evidence", "witnesses")


@lru_cache(maxsize=None)
def certificate(index: int) -> str:
    tid, params = INSTANCES[index]
    return json.dumps(run_theorem(tid, dict(params)))


def leaves(obj, path=()):
    """Every path to a leaf, and to every list and dict (whose edits drop or add members)."""
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:50]):
            yield from leaves(v, path + (i,))


def edit(value, kind: int):
    """One edit of a value; each kind changes what it names."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return [value + 1, value - 1, 0, -value - 7][kind % 4]
    if isinstance(value, str):
        if value and value.lstrip("-").replace("/", "").isdigit():
            num, _, den = value.partition("/")
            return [f"{int(num) + 1}/{den or 1}", f"{num}/{int(den or 1) * 2}", "0",
                    f"{value}*2"][kind % 4]
        return [value + "x", "", "1/3", value.upper() if value != value.upper() else value + "1"][kind % 4]
    if isinstance(value, list):
        return [value[1:], value + value[:1], [], None][kind % 4]
    if isinstance(value, dict):
        if not value:
            return {"extra": 1}
        key = sorted(value)[kind % len(value)]
        return {k: v for k, v in value.items() if k != key}
    return [0, "0", [], {}][kind % 4]


def apply(cert: dict, path: tuple, kind: int) -> dict:
    forged = copy.deepcopy(cert)
    if not path:
        return {k: v for k, v in forged.items() if k != sorted(forged)[kind % len(forged)]}
    parent = forged
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = edit(parent[path[-1]], kind)
    forged["hash"] = content_hash(forged)
    return forged


def verdict_of(cert: dict) -> tuple[bool, str]:
    try:
        res = check_data(cert, rebuild=True)
    except UserError:
        return False, "refused"
    return res.ok, res.verdict or ""


@pytest.mark.parametrize("index", range(len(INSTANCES)), ids=[i for i, _ in INSTANCES])
def test_original_certificate_passes(index):
    cert = json.loads(certificate(index))
    ok, verdict = verdict_of(cert)
    assert ok and verdict == cert["verdict"]


@pytest.mark.parametrize("index", range(len(INSTANCES)), ids=[i for i, _ in INSTANCES])
# a rebuild may run the certifier's own steered witness search (a @given inside this one)
@settings(max_examples=40, suppress_health_check=[HealthCheck.nested_given])
@given(data=st.data())
def test_meaningful_edits_are_rejected(index, data):
    cert = json.loads(certificate(index))
    paths = [p for p in leaves(cert) if not p or p[0] not in MEANINGLESS + ("hash",)
             or _instance_data(cert, p)]
    path = data.draw(st.sampled_from(paths), label="path")
    kind = data.draw(st.integers(0, 3), label="kind")
    forged = apply(cert, path, kind)
    if forged == cert or (path and _same_after_edit(cert, forged)):
        return  # the edit did not change the file (e.g. 0 replaced by 0)
    ok, verdict = verdict_of(forged)
    if ok and path and path[0] in EVIDENCE_ONLY:
        # still a proof of the same verdict: the edit changed no claim
        assert verdict == cert["verdict"], (path, kind)
        return
    assert not ok, f"forged edit accepted: {path} kind {kind}"


def _instance_data(cert: dict, path: tuple) -> bool:
    """details.NAME where the statement's claim reads NAME as the instance's data: meaningful."""
    data = statement(cert["theorem"]).claim.get("data", ())
    return len(path) > 1 and path[0] == "details" and path[1] in data


def _same_after_edit(cert: dict, forged: dict) -> bool:
    a = {k: v for k, v in cert.items() if k != "hash"}
    b = {k: v for k, v in forged.items() if k != "hash"}
    return a == b


def test_named_forgeries_are_rejected():
    """The forgeries of the issue, one by one (hash recomputed each time)."""
    cert = json.loads(certificate(1))  # syz-intrinsic-aux-offtrifling, a HOLDS with evidence

    def forged(change):
        c = copy.deepcopy(cert)
        change(c)
        c["hash"] = content_hash(c)
        return verdict_of(c)[0]

    assert not forged(lambda c: c["error"].__setitem__("upper", "0"))          # upper below lower
    assert not forged(lambda c: c["architecture"].__setitem__("claims", []))  # claims removed
    assert not forged(lambda c: c["architecture"]["measured"].__setitem__("params", 1))
    assert not forged(lambda c: c.__setitem__("verdict", "VIOLATED"))         # false VIOLATED
    assert not forged(lambda c: (c.__setitem__("verdict", "VIOLATED"),
                                 c["error"].__setitem__("lower", "0")))
    assert not forged(lambda c: c["target"].__setitem__("lam", "1000"))       # a larger modulus
    assert not forged(lambda c: c["error"].__setitem__("bound", "1000"))


def test_a_claims_measured_count_edited_is_rejected():
    """A claim's stored measured count is shown to the reader: where the kernel re-measures it
    (width, depth, ... of the stored network), an edited one is refused even when the claim's
    verdict does not change (it was accepted while the kernel used its own count silently)."""
    cert = json.loads(certificate(7))  # syz-point-fit: width, depth and input_dim re-measured
    for claim in range(len(cert["architecture"]["claims"])):
        forged = copy.deepcopy(cert)
        forged["architecture"]["claims"][claim]["measured"] += 1
        forged["hash"] = content_hash(forged)
        res = check_data(forged)
        assert not res.ok and any("stored measured" in p for p in res.problems), res.problems


def test_violated_turned_into_holds_is_rejected():
    """A VIOLATED certificate (a stated bound below the truth) edited to HOLDS."""
    import dataclasses

    from certify.certificate import certify_network, make_target_for
    from certify.registry import default_registry

    thm = default_registry().get("syz-cpwl-interpolation")
    params = thm.parse_params({"n": "5"})
    target = make_target_for(thm, params, None)
    net = thm.builder()(params, target)
    # the same construction against a wrong statement gives VIOLATED with a witness
    tight = dataclasses.replace(thm, claim={**thm.claim, "bound": "1/10**6"})
    cert = json.loads(json.dumps(certify_network(tight, params, target, net, thm.builder())))
    assert cert["verdict"] == "VIOLATED"
    cert["verdict"] = "HOLDS"
    cert["target_request"] = {"spec": "sine", "lipschitz": None}
    cert["hash"] = content_hash(cert)
    assert not verdict_of(cert)[0]


def test_a_certificate_stripped_of_its_network_and_evidence_is_not_called_verified(tmp_path, capsys):
    """Without the network and the evidence the kernel can only take the certifier's bound as
    stored: the certificate is consistent, so it is accepted, but ``check`` must not call its
    HOLDS verified (the same certificate with them is), and ``--strict`` refuses it."""
    from certify import cli

    cert = json.loads(certificate(7))  # syz-point-fit, its bound re-derived from the pieces
    stripped = copy.deepcopy(cert)
    stripped["network"]["layers"], stripped["network"]["why_not_stored"] = None, "no plain layered form"
    stripped["evidence"] = None
    stripped["hash"] = content_hash(stripped)
    for c, name in ((cert, "whole.json"), (stripped, "stripped.json")):
        (tmp_path / name).write_text(json.dumps(c))
    assert check_data(stripped).bound_trusted and not check_data(cert).bound_trusted

    def output(*argv):
        rc = cli.main(["check", *argv])
        return rc, " ".join(capsys.readouterr().out.split())

    rc, out = output(str(tmp_path / "stripped.json"))
    assert rc == 0 and "accepted, not verified: HOLDS rests on the certifier's error bound" in out
    assert "certificate verified" not in out
    assert output("--strict", str(tmp_path / "stripped.json"))[0] == 1
    rc, out = output("--strict", str(tmp_path / "whole.json"))
    assert rc == 0 and "certificate verified: HOLDS" in out


def test_check_prints_the_certificates_text_as_written(tmp_path, capsys):
    """``check`` quotes untrusted text (here a construction name): rich must not read it as
    markup or emoji codes, which let a forged file style the report or drop its brackets."""
    from certify import cli

    cert = json.loads(certificate(7))
    cert["network"]["construction"] = "[/]x[bold green]certificate verified:a:"
    cert["hash"] = content_hash(cert)
    (tmp_path / "c.json").write_text(json.dumps(cert))
    assert cli.main(["check", str(tmp_path / "c.json")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "'[/]x[bold green]certificate verified:a:' is not the statement's builder" in out


def test_formula_in_a_certificate_is_never_evaluated(tmp_path):
    """Hole 1: a claim formula that would write a file if evaluated."""
    cert = json.loads(certificate(0))
    sentinel = tmp_path / "pwned"
    cert["architecture"]["claims"][0]["formula"] = \
        f"__import__('pathlib').Path({str(sentinel)!r}).write_text('x') and 300"
    cert["hash"] = content_hash(cert)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cert))
    from certify.checker import check_certificate

    check_certificate(str(path), rebuild=True)
    assert not sentinel.exists()


def test_a_gadget_marked_not_holding_under_a_trusted_holds_is_rejected():
    cert = json.loads(certificate(4))  # syz-bit-extraction relies on gadget certificates
    assert cert["gadgets"] and cert["verdict"] == "HOLDS"
    cert["gadgets"][0]["holds"] = False
    cert["hash"] = content_hash(cert)
    assert not check_data(cert).ok  # the kernel alone
    assert not verdict_of(cert)[0]


def test_a_witness_outside_the_claimed_region_is_refused():
    """Off the trifling region only: a witness in a strip bounds nothing the theorem states."""
    from certify.kernel import check_certificate_data

    cert = json.loads(certificate(1))  # syz-intrinsic-aux-offtrifling, n = 2: cells end at 1/4 - δ
    cert["witnesses"] = [{"x": ["1/5"], "error": "1"}]  # in the strip (1/4 - 1/12, 1/4)
    cert["verdict"] = "VIOLATED"
    report = check_certificate_data(cert)
    assert not report.ok and any("outside the region" in p for p in report.problems)
