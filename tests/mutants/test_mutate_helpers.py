"""The mutation helpers change exactly what they say and keep everything else (sharing, specs)."""

from __future__ import annotations

from flint import fmpq

from constructive.activations import IDENTITY
from constructive.evaluate import evaluate
from constructive.gadgets.bits import bit_extractor
from constructive.gadgets.mid import mid_gadget
from constructive.ir import Network, Parallel, Repeat, activation, affine, network, parallel

from .mutate import (EPS, add_hat, affine_sites, change_one_copy, gadgets_named, nonzero_entries, nudge,
                     replace_gadget_body, scale_output, shift_breakpoint, shift_last_bias, sites,
                     swap_activation)


def _entries(net):
    return [(tuple(a.node.W.entries()), tuple(a.node.b.entries())) for a in affine_sites(net)]


def test_nudge_moves_exactly_one_entry_inside_a_repeat():
    net = bit_extractor(3)
    inner = affine_sites(net, lambda s: s.in_repeat)[0].node
    mutant = nudge(net, inner, "W", 0, 1, delta=EPS)
    before, after = _entries(net), _entries(mutant)
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert len(changed) == 1
    (w0, _), (w1, _) = changed[0]
    assert [y - x for x, y in zip(w0, w1)] == [0, EPS, 0, 0]
    # the Repeat is rebuilt around the new body, still repeated the same number of times
    reps = [s.node for s in sites(mutant) if isinstance(s.node, Repeat)]
    assert len(reps) == 1 and reps[0].times == 6


def test_untouched_subtrees_and_specs_are_the_same_objects():
    net = bit_extractor(3)
    thr = gadgets_named(net, "threshold")[0]
    mutant = replace_gadget_body(net, thr, lambda b: shift_last_bias(b, EPS))
    new_thr = gadgets_named(mutant, "threshold")[0]
    assert new_thr is not thr and new_thr.spec is thr.spec and new_thr.params == thr.params
    outer = gadgets_named(net, "bit-extraction")[0]
    assert gadgets_named(mutant, "bit-extraction")[0].spec is outer.spec
    old_rep = next(s.node for s in sites(net) if isinstance(s.node, Repeat))
    new_rep = next(s.node for s in sites(mutant) if isinstance(s.node, Repeat))
    assert new_rep is old_rep  # not on the path to the change


def test_a_shared_part_changes_everywhere_unless_one_copy_is_asked_for():
    g = mid_gadget()
    net = network(parallel(g, g))  # one gadget object used twice
    aff = affine_sites(net)[0].node
    everywhere = nudge(net, aff, "b", 0)
    par = next(s.node for s in sites(everywhere) if isinstance(s.node, Parallel))
    assert par.parts[0] is par.parts[1]
    once = change_one_copy(net, next(s.node for s in sites(net) if isinstance(s.node, Parallel)),
                           1, lambda part: nudge(part, affine_sites(part)[0].node, "b", 0))
    par = next(s.node for s in sites(once) if isinstance(s.node, Parallel))
    assert par.parts[0] is not par.parts[1]
    x = [[fmpq(1)], [fmpq(5)], [fmpq(2)], [fmpq(3)], [fmpq(9)], [fmpq(4)]]
    out, new = evaluate(net, x), evaluate(once, x)
    assert out[0] == new[0] and out == [[2], [4]]


def test_breakpoint_output_scale_activation_and_hat():
    net = network(affine([[1], [1]], [0, fmpq(-1, 2)]), activation(2), affine([[1, -2]], [0]))
    xs = [[fmpq(k, 8) for k in range(-8, 17)]]
    moved = shift_breakpoint(net, affine_sites(net)[0].node, 1, fmpq(1, 4))
    assert evaluate(moved, [[fmpq(5, 8)]]) == [[fmpq(5, 8)]]  # kink now at 3/4
    assert evaluate(scale_output(net, 3), xs) == [[3 * v for v in evaluate(net, xs)[0]]]
    act = next(s.node for s in sites(net) if type(s.node).__name__ == "Activation")
    linear = swap_activation(net, act, IDENTITY)
    assert evaluate(linear, [[fmpq(-1)]]) == [[fmpq(-1) + 2 * fmpq(3, 2)]]
    hat = add_hat(net, 2, 3, 7)
    outside = [[fmpq(k, 4) for k in range(-8, 9)] + [fmpq(3), fmpq(4)]]
    assert evaluate(hat, outside) == evaluate(net, outside)
    assert evaluate(hat, [[fmpq(5, 2)]])[0][0] - evaluate(net, [[fmpq(5, 2)]])[0][0] == 7


def test_substitute_reaches_nested_activation_networks():
    inner = network(affine([[2]], [0]), activation(1), affine([[1]], [0]))
    from constructive.ir import Activation

    outer = network(affine([[1]], [0]), Activation((inner,)), affine([[1]], [0]))
    aff = next(s.node for s in sites(outer) if s.in_nested and s.node is inner.nodes[0])
    mutant = nudge(outer, aff, "W", 0, 0, delta=fmpq(1))
    assert evaluate(mutant, [[fmpq(1)]]) == [[fmpq(3)]]
    assert nonzero_entries(affine_sites(mutant)[1].node) == [(0, 0)]
    assert isinstance(mutant, Network)
