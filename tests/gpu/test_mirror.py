"""The PyTorch mirror: agreement with the Exact context within a computed rounding bound, and
the precision guard."""

import random

import pytest

torch = pytest.importorskip("torch")

from flint import fmpq

from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.gadgets.bits import bit_extractor
from constructive.gadgets.mid import mid_gadget
from constructive.ir import affine, gadget, network, parallel, relu_network, repeat
from gpu.mirror import required_bits, rounding_bound, to_torch


def random_relu(width: int, depth: int, d: int, seed: int):
    rng = random.Random(seed)
    q = lambda: fmpq(rng.randint(-64, 64), 64)
    dims = [d] + [width] * depth + [1]
    return relu_network([([[q() for _ in range(dims[k])] for _ in range(dims[k + 1])],
                          [q() for _ in range(dims[k + 1])]) for k in range(len(dims) - 1)])


def dyadic_points(d: int, m: int, seed: int):
    rng = random.Random(seed)
    return [[fmpq(rng.randint(-1024, 1024), 1024) for _ in range(m)] for _ in range(d)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mirror_agrees_within_the_computed_rounding_bound(seed):
    net = random_relu(16, 4, 2, seed)
    rows = dyadic_points(2, 64, seed)
    exact = evaluate(net, rows)[0]
    X = torch.tensor([[float(v.p) / float(v.q) for v in r] for r in rows], dtype=torch.float64)
    out = to_torch(net)(X)[0]
    bound = rounding_bound(net, X)[0]
    diffs = [abs(float(o) - float(e.p) / float(e.q)) for o, e in zip(out.tolist(), exact)]
    assert all(d <= b for d, b in zip(diffs, bound.tolist()))
    assert max(bound.tolist()) < 1e-9  # and the bound is a meaningful one


def test_mirror_handles_shared_blocks_and_repeats():
    net = mid_gadget()
    rows = dyadic_points(3, 32, 5)
    exact = evaluate(net, rows)[0]
    out = to_torch(net)(torch.tensor([[float(v.p) / float(v.q) for v in r] for r in rows],
                                     dtype=torch.float64))[0]
    assert [float(e.p) / float(e.q) for e in exact] == out.tolist()  # medians of dyadics are exact


def test_guard_refuses_bit_extraction_at_J64_in_float64():
    with pytest.raises(UserError, match="mantissa bits"):
        to_torch(bit_extractor(64))
    with pytest.warns(RuntimeWarning):
        to_torch(bit_extractor(64), allow_imprecise=True)


def test_guard_accepts_a_width16_depth4_relu_network():
    net = random_relu(16, 4, 2, 0)
    assert required_bits(net) < 53
    to_torch(net)  # no error
    with pytest.raises(UserError):
        to_torch(bit_extractor(64), dtype=torch.float32)


def test_small_bit_extractor_is_faithful_in_float64():
    J = 8
    from constructive.gadgets.bits import pack_bits

    theta = [1, 0, 1, 1, 0, 0, 1, 0]
    a = pack_bits(theta)
    xs = [4 ** j * a for j in range(1, J + 1)]
    X = torch.tensor([[float(x.p) / float(x.q) for x in xs]], dtype=torch.float64)
    assert to_torch(bit_extractor(J))(X)[0].round().tolist() == theta


@pytest.mark.gpu
def test_mirror_on_cuda_matches_the_rounding_bound():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net = random_relu(16, 4, 2, 3)
    rows = dyadic_points(2, 4096, 3)
    exact = evaluate(net, rows)[0]
    X = torch.tensor([[float(v.p) / float(v.q) for v in r] for r in rows], dtype=torch.float64)
    out = to_torch(net, device="cuda")(X.cuda())[0].cpu()
    bound = rounding_bound(net, X)[0]
    assert all(abs(float(o) - float(e.p) / float(e.q)) <= b
               for o, e, b in zip(out.tolist(), exact, bound.tolist()))


def test_mirror_shares_modules_of_shared_blocks_and_bounds_gadgets():
    block = random_relu(4, 2, 1, 7)
    net = network(gadget("g", parallel(block, block)), affine([[1, -1]], [0]),
                  repeat(random_relu(2, 1, 1, 8), 3))
    module = to_torch(net)
    gadget_module, _, repeated = module.steps
    (pair,) = gadget_module.steps  # the gadget is its body's module (a network of one block)
    assert pair.shared and pair.parts[0] is pair.parts[1]
    assert repeated.times == 3
    rows = dyadic_points(2, 16, 9)
    exact = evaluate(net, rows)[0]
    X = torch.tensor([[float(v.p) / float(v.q) for v in r] for r in rows], dtype=torch.float64)
    out, bound = module(X)[0], rounding_bound(net, X)[0]
    assert all(abs(float(o) - float(e.p) / float(e.q)) <= b
               for o, e, b in zip(out.tolist(), exact, bound.tolist()))
