"""Experiment `euaf-exp-function-fit` (Shen, Yang, Zhang, JMLR 2022, §3, txt p. 16–17).

Fit f(x1, x2) = 0.6 sin(8 x1) + 0.4 sin(16 x2) on [0, 1]^2 with fully connected networks of 4
hidden layers of 80 neurons, all ReLU (FCNN1) or all EUAF σ (FCNN2), trained with RAdam, batch
size 256, learning rate 0.002·0.9^(i−1) in epochs 5(i−1)+1..5i, on 10^6 training and 10^5 test
points for 500 epochs; 12 runs, the 2 best and 2 worst dropped (by test MSE), the rest averaged.

``--scale s`` multiplies the training/test sizes and the number of epochs (the learning-rate
schedule keeps its 5-epoch steps); ``--scale 1 --runs 12 --device cuda`` is the paper's run.
Floats only: this is exploration, no verdict rests on it.

    python experiments/euaf_function_fit.py --scale 0.02 --runs 3     # CPU, a few minutes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from constructive.activations.euaf import torch_sigma  # noqa: E402

PAPER = {"ReLU": {"MSE": 3.53e-5, "MAE": 4.57e-3, "MAX": 3.69e-2},
         "EUAF": {"MSE": 7.56e-6, "MAE": 2.13e-3, "MAX": 1.48e-2}}


class EUAF(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch_sigma(x)


def target(x: torch.Tensor) -> torch.Tensor:
    return 0.6 * torch.sin(8 * x[:, :1]) + 0.4 * torch.sin(16 * x[:, 1:2])


def model(act: str, width: int = 80, hidden: int = 4) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    d = 2
    for _ in range(hidden):
        layers += [torch.nn.Linear(d, width), torch.nn.ReLU() if act == "ReLU" else EUAF()]
        d = width
    layers.append(torch.nn.Linear(d, 1))
    return torch.nn.Sequential(*layers)


def lr_at(epoch: int, base: float = 0.002) -> float:
    """0.002·0.9^(i−1) for epochs 5(i−1)+1..5i (epochs counted from 1)."""
    return base * 0.9 ** ((epoch - 1) // 5)


def run_once(act: str, n_train: int, n_test: int, epochs: int, batch: int, seed: int,
             device: str) -> dict:
    g = torch.Generator().manual_seed(seed)
    xtr = torch.rand(n_train, 2, generator=g)
    xte = torch.rand(n_test, 2, generator=g)
    ytr, yte = target(xtr), target(xte)
    xtr, ytr, xte, yte = (t.to(device) for t in (xtr, ytr, xte, yte))
    torch.manual_seed(seed)
    net = model(act).to(device)
    opt = torch.optim.RAdam(net.parameters(), lr=lr_at(1))
    for epoch in range(1, epochs + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(epoch)
        perm = torch.randperm(n_train, device=device)
        for k in range(0, n_train, batch):
            idx = perm[k:k + batch]
            opt.zero_grad()
            loss = torch.mean((net(xtr[idx]) - ytr[idx]) ** 2)
            loss.backward()
            opt.step()
    with torch.no_grad():
        err = (net(xte) - yte).abs()
    return {"MSE": float((err ** 2).mean()), "MAE": float(err.mean()), "MAX": float(err.max())}


def trimmed(results: list[dict]) -> dict:
    """Drop the best and worst sixth by MSE (2 of 12 each, as in the paper), average the rest."""
    rs = sorted(results, key=lambda r: r["MSE"])
    cut = len(rs) // 6
    keep = rs[cut:len(rs) - cut] if len(rs) - 2 * cut > 0 else rs
    return {k: sum(r[k] for r in keep) / len(keep) for k in ("MSE", "MAE", "MAX")}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.02,
                    help="fraction of the paper's data sizes and epochs (1 = 10^6/10^5 points, 500 epochs)")
    ap.add_argument("--runs", type=int, default=3, help="runs per model (paper: 12)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--json", default="", help="write the results here")
    a = ap.parse_args(argv)
    if not (0 < a.scale <= 1) or a.runs < 1 or a.batch < 1:
        print("error: need 0 < --scale <= 1, --runs >= 1, --batch >= 1", file=sys.stderr)
        raise SystemExit(2)
    if a.threads:
        torch.set_num_threads(a.threads)
    n_train = max(a.batch, int(round(1_000_000 * a.scale)))
    n_test = max(100, int(round(100_000 * a.scale)))
    epochs = max(1, int(round(500 * a.scale)))
    t0 = time.perf_counter()
    out = {"experiment": "euaf-exp-function-fit", "scale": a.scale, "runs": a.runs,
           "n_train": n_train, "n_test": n_test, "epochs": epochs, "batch": a.batch,
           "device": a.device, "models": {}}
    for act in ("ReLU", "EUAF"):
        res = [run_once(act, n_train, n_test, epochs, a.batch, a.seed + r, a.device)
               for r in range(a.runs)]
        out["models"][act] = {"trimmed_mean": trimmed(res), "runs": res}
    out["seconds"] = time.perf_counter() - t0
    print(f"euaf-exp-function-fit: scale {a.scale}, {n_train} train / {n_test} test points, "
          f"{epochs} epochs, {a.runs} runs, {a.device}, {out['seconds']:.1f} s")
    print(f"{'model':<6} {'MSE':>10} {'paper':>10} {'MAE':>10} {'paper':>10} {'MAX':>10} {'paper':>10}")
    for act in ("ReLU", "EUAF"):
        m, p = out["models"][act]["trimmed_mean"], PAPER[act]
        print(f"{act:<6} {m['MSE']:10.3e} {p['MSE']:10.3e} {m['MAE']:10.3e} {p['MAE']:10.3e} "
              f"{m['MAX']:10.3e} {p['MAX']:10.3e}")
    r, e = out["models"]["ReLU"]["trimmed_mean"], out["models"]["EUAF"]["trimmed_mean"]
    ratio = r["MSE"] / e["MSE"] if e["MSE"] > 0 else math.inf
    print(f"MSE ratio ReLU/EUAF: {ratio:.2f} (paper: {PAPER['ReLU']['MSE'] / PAPER['EUAF']['MSE']:.2f})")
    out["paper"] = PAPER
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
