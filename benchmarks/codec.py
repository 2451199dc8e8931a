"""Hyperfunction codec speed, every ratio against a baseline measured in the same run.

    PYTHONPATH=. python benchmarks/codec.py [--weights 1048576] [--gpu-encode-weights 1e9]

CPU (one thread, so "per core" numbers):
* winding encode seconds per 10^6 weights (cell-table exact search) vs two reference-style
  encoders on a subsample, extrapolated: a brute-force numpy argmin and a KD-tree (leaf size 100,
  as in the reference; scikit-learn if installed, else SciPy), both queried in a Python loop over
  chunks of 128 groups like the reference;
* lattice, RTN and ecsq encode seconds per 10^6 weights;
* decode weights/s of each method (vectorised CPU path).
CUDA only (skipped with a message otherwise): fused decoder throughput as a fraction of a
device-to-device copy of the same output size, and the winding encode time for ~10^9 synthetic
weights on the GPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gpu.hyperfunction import decoder, encoder, trajectory  # noqa: E402
from gpu.hyperfunction.base import EncodedTensor  # noqa: E402
from gpu.hyperfunction.codec import get_codec  # noqa: E402


def best_of(fn, repeat=3):
    """Smallest wall time of ``repeat`` runs (and the last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best, out


def unit_groups(w, block, k):
    """The normalised groups the winding encoder searches (same arithmetic as the codec)."""
    from gpu.hyperfunction import groups

    blocks = groups.to_blocks(w.reshape(-1), block)
    lo, span = groups.block_bounds(blocks, 1, "bench")
    unit = (blocks - lo.double().unsqueeze(1)) / span.double().clamp(min=1e-300).unsqueeze(1)
    return unit.clamp(0, 1).reshape(-1, k).numpy()


def brute_force_reference(x, points, chunk=128):
    """Reference-style loop: per chunk of 128 groups, distances to all n codewords, argmin."""
    out = np.empty(x.shape[0], dtype=np.int64)
    for s in range(0, x.shape[0], chunk):
        q = x[s : s + chunk]
        d = ((q[:, None, :] - points[None, :, :]) ** 2).sum(-1)
        out[s : s + chunk] = d.argmin(1)
    return out


def kdtree_reference(x, points, chunk=128):
    """Reference-style KD-tree (leaf size 100) queried per chunk of 128 groups; None if unavailable."""
    try:
        from sklearn.neighbors import KDTree

        tree = KDTree(points, leaf_size=100)
        query = lambda q: tree.query(q, k=1, return_distance=False)[:, 0]  # noqa: E731
        name = "scikit-learn KDTree"
    except ImportError:
        try:
            from scipy.spatial import cKDTree

            tree = cKDTree(points, leafsize=100)
            query = lambda q: tree.query(q, k=1)[1]  # noqa: E731
            name = "SciPy cKDTree"
        except ImportError:
            return None, None
    out = np.empty(x.shape[0], dtype=np.int64)
    for s in range(0, x.shape[0], chunk):
        out[s : s + chunk] = query(x[s : s + chunk])
    return out, name


def cpu_section(numel: int) -> None:
    gen = torch.Generator().manual_seed(0)
    side = int(numel**0.5)
    w = torch.randn(side, numel // side, generator=gen) * 0.02
    mega = w.numel() / 1e6
    print(f"CPU, 1 thread, N(0, 0.02²) matrix {tuple(w.shape)} ({w.numel():,} weights)")
    print()
    print("encode (seconds per 10^6 weights; baselines on a subsample, extrapolated)")
    print(f"{'method':<34}{'bits':>5}{'s/10^6 w':>11}{'vs ours':>9}")
    for bits in (4, 5, 6):
        codec = get_codec("winding")
        a_fixed = trajectory.direction_fixed(2)
        n = 1 << (2 * bits)
        encoder.build_nearest.cache_clear()
        cold = time.perf_counter()
        codec.encode(w, bits)
        cold = time.perf_counter() - cold
        warm, enc = best_of(lambda: codec.encode(w, bits), repeat=2)
        ours = warm / mega
        print(f"{'winding (cell table, exact)':<34}{bits:>5}{ours:>11.3f}{'1.0x':>9}   (first call incl. table build: {cold / mega:.3f})")
        x = unit_groups(w, codec.block, 2)
        points = trajectory.trajectory_points(n, a_fixed).numpy()
        sub = x[: max(2048, min(x.shape[0], 8_000_000 // n))]
        t = time.perf_counter()
        ref = brute_force_reference(sub, points)
        brute = (time.perf_counter() - t) / (sub.shape[0] * 2 / 1e6)
        mine = encoder.build_nearest(n, a_fixed).nearest(torch.from_numpy(sub)).numpy()
        same = np.allclose(((points[mine] - sub) ** 2).sum(1), ((points[ref] - sub) ** 2).sum(1), rtol=0, atol=0)
        print(f"{'  brute force, numpy loop':<34}{bits:>5}{brute:>11.3f}{brute / ours:>8.1f}x   (same nearest distances: {same})")
        sub = x[: min(x.shape[0], 1 << 15)]
        kdtree_reference(sub[:256], points)  # warm-up: library import outside the timing
        t = time.perf_counter()
        _, name = kdtree_reference(sub, points)
        if name is None:
            print(f"{'  KD-tree':<34}{bits:>5}   skipped: neither scikit-learn nor SciPy is installed")
        else:
            kd = (time.perf_counter() - t) / (sub.shape[0] * 2 / 1e6)
            print(f"{'  ' + name + ', loop of 128':<34}{bits:>5}{kd:>11.3f}{kd / ours:>8.1f}x")
    for method in ("lattice", "rtn", "ecsq"):
        for bits in (4, 6):
            seconds, _ = best_of(lambda: get_codec(method).encode(w, bits), repeat=2)
            print(f"{method:<34}{bits:>5}{seconds / mega:>11.3f}")
    print("reference implementation (paper note §5, one core, not measured here): 1.5-2.0 s per 10^6")
    print()
    print("decode (vectorised CPU path, weights/s)")
    for method in ("winding", "lattice", "rtn", "ecsq"):  # ecsq: ANS decoding included
        for bits in (4, 6):
            enc = get_codec(method).encode(w, bits)
            run = getattr(decoder, f"decode_{method}")
            seconds, _ = best_of(lambda: run(enc, "cpu", fused=False))
            print(f"  {method:<10} {bits} bits: {w.numel() / seconds:12.3e} weights/s  ({seconds / mega:.4f} s per 10^6)")
    print("reference implementation (paper note §5): 0.37-0.58 s per 10^6 (1.7-2.7e6 weights/s)")


def tiled(method: str, bits: int, numel: int, device: "torch.device") -> EncodedTensor:
    """An encoding of ``numel`` weights built by tiling the encoding of 2^20 bf16 weights.

    Valid (it decodes the tiled tensor) and cheap: decode speed does not depend on code values,
    and encoding 10^8+ weights with the CPU-side lattice encoder would take minutes.
    """
    base_numel = 1 << 20
    reps = max(1, numel // base_numel)
    gen = torch.Generator(device=device).manual_seed(1)
    w = (torch.randn(base_numel, generator=gen, device=device) * 0.02).to(torch.bfloat16)
    base = get_codec(method).encode(w, bits)
    params = dict(base.params)
    for key in ("groups", "pairs"):
        if key in params:
            params[key] *= reps
    arrays = {role: a.repeat(reps) for role, a in base.arrays.items()}
    return replace(base, shape=(base_numel * reps,), params=params, arrays=arrays)


def gpu_section(decode_weights: int, encode_weights: float) -> None:
    if not torch.cuda.is_available():
        print()
        print("CUDA not available: skipping the fused GPU decoder and the 1e9-weight GPU encode")
        return
    dev = torch.device("cuda")
    print()
    print(f"GPU: {torch.cuda.get_device_name(dev)}")
    gen = torch.Generator(device=dev).manual_seed(0)
    copy_src = torch.zeros(decode_weights, dtype=torch.bfloat16, device=dev)
    copy_dst = torch.empty_like(copy_src)
    copy_s, _ = best_of(lambda: copy_dst.copy_(copy_src), repeat=5)
    print(f"device copy of {decode_weights:,} bf16 values: {copy_s * 1e3:.3f} ms "
          f"({2 * 2 * decode_weights / copy_s / 1e12:.2f} TB/s read+write)")
    del copy_src, copy_dst
    for method, bits in (("winding", 4), ("winding", 6), ("rtn", 4), ("lattice", 6)):
        enc = tiled(method, bits, decode_weights, dev)
        run = getattr(decoder, f"decode_{method}")
        t = time.perf_counter()
        run(enc, dev, fused=True)  # compile
        compile_s = time.perf_counter() - t
        fused_s, out = best_of(lambda: run(enc, dev, fused=True), repeat=5)
        eager_s, eager = best_of(lambda: run(enc, dev, fused=False), repeat=2)
        same = torch.equal(out.view(torch.int16), eager.view(torch.int16))
        del out, eager
        print(f"  fused {method:<8}{bits} bits ({enc.bits_per_weight():.2f} b/w): {enc.numel / fused_s:.3e} weights/s, "
              f"{copy_s / fused_s:.2f}x the copy's speed (first call {compile_s:.1f} s); "
              f"eager {enc.numel / eager_s:.3e}/s; bits equal: {same}")
    chunk = 1 << 26
    chunks = max(1, round(encode_weights / chunk))
    codec = get_codec("winding")
    x = torch.randn(chunk, generator=gen, device=dev) * 0.02
    codec.encode(x, 4)  # warm-up: table build and transfer
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(chunks):
        x.normal_(0, 0.02, generator=gen)
        codec.encode(x, 4)
    torch.cuda.synchronize()
    total = time.perf_counter() - t
    print(f"GPU winding encode, 4 bits, {chunks * chunk:,} synthetic weights: {total:.1f} s "
          f"({total / (chunks * chunk / 1e6) * 1e3:.3f} ms per 10^6)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=int, default=1 << 20, help="CPU matrix size (default 2^20)")
    parser.add_argument("--gpu-decode-weights", type=int, default=1 << 28)
    parser.add_argument("--gpu-encode-weights", type=float, default=1e9)
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    cpu_section(args.weights)
    torch.set_num_threads(max(1, torch.get_num_interop_threads()))
    gpu_section(args.gpu_decode_weights, args.gpu_encode_weights)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
