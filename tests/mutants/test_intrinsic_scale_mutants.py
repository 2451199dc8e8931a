"""Mutants for the fast paths that make syz-intrinsic-lp scale (n = 16 on a CPU): a wide weight
times a power of two as a shift (the packing map a_ℓ · 4^ϱ) and a batch of tent-block chains in
one pass with the common 2^s of T^k stripped.  Each mutant moves one weight by 2^-40 at a size
where those paths run on the moved network (the test counts their calls), and must not HOLD."""

from __future__ import annotations

import pytest

import certify.analysis.boxes as boxes
import constructive.numbers as numbers

from .harness import Mutant, assert_dies, cases
from .mutate import affine_sites, gadgets_named, nudge
from .statements import without_claims


def _packing(net):
    """The packing map L(t) = (a_1 t, …, a_n t): the affine node tagged as holding the a_ℓ."""
    return next(s.node for s in affine_sites(net) if s.node.W.ncols() == 1 and s.node.W.nrows() > 1
                and ("W", 0, 0) in s.node.intrinsic and not s.gadgets[-1:] == ("bit-extraction",))


def _extractor_input_layer(net):
    """The first layer of the (shared) bit extractor: y ↦ (y/2^(2J+1) − ½, ½ − y/2^(2J+1))."""
    return affine_sites(gadgets_named(net, "bit-extraction")[0].body)[0].node


def _drop_intrinsic(i):
    # a moved weight outside the a_ℓ is one more differing position between builds: drop the
    # intrinsic claim so that the verdict rests on the error analysis alone
    return without_claims(i.thm, "intrinsic")


KILLED = [
    Mutant("lp-packing-a1", "syz-intrinsic-lp", {"n": "6"}, "packing weight a_1 + 2^-40 (a "
           "128-bit weight times 4^ϱ: the shift path), bits of every cell with 4^ϱ·2^-40 ≥ 1/4 "
           "scrambled", mutate=lambda i: nudge(i.net, _packing(i.net), "W", 0, 0),
           slow=True),  # ~2 min: the kernel walks the scrambled cells of a deep network
    # (a_n + 2^-40 is not here: it scrambles only the last bit plane, worth 2^-n·s, inside the
    # bound's slack, so the mutant rightly HOLDS)
    Mutant("lp-packing-a2", "syz-intrinsic-lp", {"n": "8"}, "packing weight a_2 + 2^-40 (a "
           "512-bit weight)", mutate=lambda i: nudge(i.net, _packing(i.net), "W", 1, 0), slow=True),
    Mutant("lp-extractor-scale", "syz-intrinsic-lp", {"n": "6"}, "bit extractor input scale "
           "1/2^(2J+1) + 2^-40 (the tent chain after it is intact: the batched closed form runs)",
           mutate=lambda i: nudge(i.net, _extractor_input_layer(i.net), "W", 0, 0),
           restate=_drop_intrinsic),
    # (the other bias, of σ(x − ½), is harmless: x < ½ at every cell, so that neuron is off)
    Mutant("lp-extractor-bias", "syz-intrinsic-lp", {"n": "8"}, "bit extractor input bias of "
           "σ(½ − x): ½ + 2^-40", mutate=lambda i: nudge(i.net, _extractor_input_layer(i.net), "b", 1),
           restate=_drop_intrinsic),
]


@pytest.mark.parametrize("m", cases(KILLED))
def test_mutant_dies_on_the_fast_paths(m, monkeypatch):
    calls = {"shift": 0, "tents": 0}
    times, repeats = numbers._times, boxes.tent_repeats

    def counting_times(row, v):
        calls["shift"] += v.bit_length() >= numbers._WIDE
        return times(row, v)

    def counting_repeats(*args):
        calls["tents"] += len(args[0])
        return repeats(*args)

    m.instance()  # the unmutated baseline is certified (and cached) before counting starts
    monkeypatch.setattr(numbers, "_times", counting_times)
    monkeypatch.setattr(boxes, "tent_repeats", counting_repeats)
    out = assert_dies(m)
    assert calls["tents"] > 0, "the batched tent chain did not run on the mutant"
    if m.id.startswith("lp-packing"):
        assert calls["shift"] > 0, "the shift path did not run on the mutant"
    # the error analysis refused it (not a crash elsewhere)
    assert out.cert is not None, out.line()
