"""The three examples of the official MMNN code (github.com/ShijunZhangMath/MMNN), each with an
FCNN of the same number of *trained* parameters on the same data and budget.

* ``1d``: f(x) = cos(36πx²) − 0.8 cos(12πx²) on [−1, 1]; full: MMNN (666, 36, 6), 1000 grid
  points, batch 100, 20000 epochs, lr 10⁻³·0.9^⌊k/400⌋; test MAX and MSE on 1234 random points.
* ``2d``: f = clamp(0.5 − 5(r − r₁(θ)), 0, 1), r₁ = 0.5 + 0.2 cos(π²θ²) in polar coordinates on
  [−1, 1]²; full: (666, 36, 8), 300² grid, batch 1000, 1000 epochs, step 20; 66666 test points.
* ``4d``: a normalised Gaussian with Σ_ij = 20(min(i, j) − 0.1|i − j|) on [−1, 1]⁴; full:
  (666, 36, 8), 35⁴ grid, batch 1225, 150 epochs, step 3.

``--scale quick`` is meant for a CPU in minutes.  In 1-D it keeps the official network, data and
learning rate and only shortens training to 5000 epochs (lr step 100, so the decay keeps its total
factor 0.9^50): a smaller network, the earlier quick choice (160, 16, 4), never got below a test
MAX of 1.  In 2-D and 4-D it shrinks network, grid and epochs.  ``full`` is the official setting,
meant for a GPU.  Every run records its seed (the official code sets none) and writes, under ``--out``:
``<example>_<scale>.json`` (settings, parameter counts, error histories, times),
``<example>_<scale>_mmnn.pt`` (the trained MMNN as a Linear/ReLU ``nn.Sequential`` state dict,
ready for ``certify network``) and a plot.  Floats only: the certified sup error of the saved
network comes from

    certify network out/mmnn/1d_quick_mmnn.pt --target "cos(36*pi*x1^2) - 4/5*cos(12*pi*x1^2)" \\
        --box=-1,1 --tol 0.04

(seed 0: HOLDS, sup error in [0.0318962, 0.0319017], 23,534 exact pieces, ~105 s CPU, 1.7 GB)

    python experiments/mmnn_examples.py --example 1d --scale quick --jobs 2   # ~190 s CPU per model
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gpu.mmnn import (MMNN, fcnn, fcnn_parameter_count, fit_reporting, float64_errors,  # noqa: E402
                      matched_fcnn_width, size_triple, to_sequential)


def f1d(x: np.ndarray) -> np.ndarray:
    return np.cos(36 * np.pi * x[:, 0] ** 2) - 0.8 * np.cos(12 * np.pi * x[:, 0] ** 2)


def f2d(x: np.ndarray) -> np.ndarray:
    r = np.hypot(x[:, 0], x[:, 1])
    theta = np.arctan2(x[:, 1], x[:, 0])
    r1 = 0.5 + 0.2 * np.cos(np.pi ** 2 * theta ** 2)
    return np.clip(0.5 - 5 * (r - r1), 0.0, 1.0)


def _sigma(d: int) -> np.ndarray:
    i = np.arange(1, d + 1)
    return 20 * (np.minimum.outer(i, i) - 0.1 * np.abs(np.subtract.outer(i, i)))


def f4d(x: np.ndarray) -> np.ndarray:
    S = _sigma(x.shape[1])
    q = np.einsum("ni,ij,nj->n", x, S, x)
    return np.exp(-0.5 * q) / ((2 * np.pi) ** (x.shape[1] / 2) * math.sqrt(np.linalg.det(S)))


# the target as `certify network --target` reads it (x1..xd); None where no exact formula is used
# (2d: θ = atan2(x2, x1) is not in the formula language; 4d: Σ written out, det Σ = 269568)
CERTIFY_TARGET = {
    "1d": "cos(36*pi*x1^2) - 4/5*cos(12*pi*x1^2)",
    "2d": None,
    "4d": "exp(-(20*x1^2 + 36*x1*x2 + 32*x1*x3 + 28*x1*x4 + 40*x2^2 + 76*x2*x3 + 72*x2*x4 + 60*x3^2"
          " + 116*x3*x4 + 80*x4^2)/2)/(4*pi^2*sqrt(269568))",
}

EXAMPLES = {
    # d, f, (w, r, l), grid per axis, batch, epochs, lr step, test points, initial lr
    "1d": {"full": (1, f1d, (666, 36, 6), 1000, 100, 20000, 400, 1234, 1e-3),
           "quick": (1, f1d, (666, 36, 6), 1000, 100, 5000, 100, 1234, 1e-3)},
    "2d": {"full": (2, f2d, (666, 36, 8), 300, 1000, 1000, 20, 66666, 1e-3),
           "quick": (2, f2d, (160, 16, 6), 100, 500, 60, 2, 20000, 1e-3)},
    "4d": {"full": (4, f4d, (666, 36, 8), 35, 1225, 150, 3, 66666, 1e-3),
           "quick": (4, f4d, (160, 16, 6), 10, 500, 20, 1, 20000, 1e-3)},
}


def grid(d: int, n: int) -> np.ndarray:
    axis = np.linspace(-1.0, 1.0, n)
    mesh = np.meshgrid(*([axis] * d), indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def run(example: str, scale: str, seed: int, out_dir: str, device: str = "cpu",
        with_fcnn: bool = True, quiet: bool = False, epochs_override: int | None = None, jobs: int = 1) -> dict:
    d, fn, (w, r, l), n_grid, batch, epochs, step, n_test, lr = EXAMPLES[example][scale]
    if epochs_override is not None:  # same total learning-rate decay over the new length
        step = max(1, round(step * epochs_override / epochs))
        epochs = epochs_override
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_np = grid(d, n_grid)
    x_test_np = rng.uniform(-1.0, 1.0, size=(n_test, d))
    dev = torch.device(device)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float32, device=dev)

    x, y = t(x_np), t(fn(x_np)[:, None])
    xt, yt = t(x_test_np), t(fn(x_test_np)[:, None])
    ranks, widths = size_triple(d, 1, w, r, l)
    mmnn = MMNN(ranks, widths, seed=seed).to(dev)
    trainable = mmnn.trainable_count()
    models = {"MMNN": mmnn}
    if with_fcnn:
        fw = matched_fcnn_width(trainable, d, 1, l)
        models["FCNN"] = fcnn(d, 1, fw, l, seed=seed).to(dev)
    result: dict = {"example": example, "scale": scale, "seed": seed, "device": device, "grid": n_grid,
                    "training_points": len(x_np), "test_points": n_test, "batch": batch, "epochs": epochs,
                    "lr": {"init": lr, "gamma": 0.9, "step": step}, "models": {}}
    settings = dict(epochs=epochs, batch=batch, lr=lr, step=step, seed=seed, quiet=quiet,
                    threads=torch.get_num_threads())
    if jobs > 1 and len(models) > 1:  # MMNN and FCNN side by side, one process each (same data, budget)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {name: pool.submit(fit_reporting, name, model, x, y, xt, yt, settings)
                       for name, model in models.items()}
            fitted = {name: fut.result() for name, fut in futures.items()}
        for name, (model, _) in fitted.items():
            models[name] = model
    else:
        fitted = {name: fit_reporting(name, model, x, y, xt, yt, settings) for name, model in models.items()}
    mmnn = models["MMNN"]
    for name, model in models.items():
        hist = fitted[name][1]
        desc = model.describe() if isinstance(model, MMNN) else {
            "kind": "FCNN", "width": fw, "hidden_layers": l,
            "trainable": fcnn_parameter_count(d, 1, fw, l), "frozen": 0}
        model.cpu()
        dense = grid(d, {1: 20001, 2: 401, 4: 15}[d])
        max64, mse64 = float64_errors(model, fn, np.concatenate([x_test_np, dense]))
        result["models"][name] = {**desc, "history": hist.__dict__, "seconds": hist.seconds[-1],
                                  "cpu_seconds": hist.cpu_seconds[-1],
                                  "final_test_max": hist.test_max[-1], "final_test_mse": hist.test_mse[-1],
                                  "float64_max_on_test_and_dense_grid": max64, "float64_mse": mse64}
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"{example}_{scale}")
    torch.save(to_sequential(mmnn).state_dict(), stem + "_mmnn.pt")
    result["network_file"] = stem + "_mmnn.pt"
    result["certify_target"] = CERTIFY_TARGET[example]
    with open(stem + ".json", "w") as fh:
        json.dump(result, fh, indent=1)
    curves = None
    if d == 1:  # the learned functions beside the target
        xs = np.linspace(-1.0, 1.0, 2001)[:, None]
        with torch.no_grad():
            curves = (xs[:, 0], fn(xs), {n: m(torch.tensor(xs, dtype=torch.float32)).numpy()[:, 0]
                                         for n, m in models.items()})
    plot(result, stem + ".png", curves)
    return result


def plot(result: dict, path: str, curves: tuple | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if curves is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4))
        xs, ys, preds = curves
        ax2.plot(xs, ys, "k", lw=1, label="target")
        for name, p in preds.items():
            ax2.plot(xs, p, lw=0.8, label=name)
        ax2.set_xlabel("x")
        ax2.legend(fontsize=8)
    for name, m in result["models"].items():
        h = m["history"]
        ax.semilogy(h["epochs"], h["test_max"], label=f"{name} test MAX ({m['trainable']} trained)")
        ax.semilogy(h["epochs"], h["train_mse"], "--", label=f"{name} train MSE")
    ax.set_xlabel("epoch")
    ax.set_title(f"MMNN example {result['example']} ({result['scale']}, seed {result['seed']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--example", choices=sorted(EXAMPLES), default="1d")
    ap.add_argument("--scale", choices=["quick", "full"], default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-fcnn", action="store_true", help="train the MMNN only")
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the epochs of the scale (the lr step is scaled along)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1 is fastest on a shared machine: small matrices)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="2: train the MMNN and the FCNN at the same time in two processes")
    ap.add_argument("--out", default="out/mmnn")
    a = ap.parse_args(argv)
    if not 1 <= a.threads <= 256:
        ap.error("--threads must be in [1, 256]")
    torch.set_num_threads(a.threads)
    if not 1 <= a.jobs <= 2:
        ap.error("--jobs must be 1 or 2")
    if not 0 <= a.seed < 2 ** 31:
        ap.error("--seed must be in [0, 2^31)")
    if a.epochs is not None and not 1 <= a.epochs <= 10 ** 6:
        ap.error("--epochs must be in [1, 10^6]")
    t0 = time.perf_counter()
    res = run(a.example, a.scale, a.seed, a.out, a.device, with_fcnn=not a.no_fcnn, epochs_override=a.epochs,
              jobs=a.jobs)
    print(f"example {a.example} ({a.scale}, seed {a.seed}, {a.device}): {time.perf_counter() - t0:.0f} s")
    for name, m in res["models"].items():
        print(f"  {name:4s} trained {m['trainable']:7d}  frozen {m['frozen']:7d}  "
              f"train MSE {m['history']['train_mse'][-1]:.2e}  test MAX {m['final_test_max']:.2e}  "
              f"test MSE {m['final_test_mse']:.2e}  float64 MAX {m['float64_max_on_test_and_dense_grid']:.2e}  "
              f"{m['seconds']:.0f} s wall, {m['cpu_seconds']:.0f} s CPU")
    print(f"  network: {res['network_file']}")
    return res


if __name__ == "__main__":
    main()
