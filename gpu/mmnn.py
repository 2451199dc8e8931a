"""MMNN (Zhang–Zhao–Zhong–Zhou, arXiv 2407.00765) in torch, with a matched FCNN and training.

One MMNN layer is a multi-component shallow network h(x) = A σ(W x + b) + c: (W, b) are drawn
once (torch's default ``nn.Linear`` initialisation, as in the official code) from a *recorded
seed* and frozen; only (A, c) are trained.  A network of size (w, r, l) composes l such layers
with ranks [d_in, r, …, r, d_out] and widths [w]*l.  The residual variant (ResMMNN) adds each
middle layer's input to its output on the first min(d_in, d_out) coordinates.

:func:`to_sequential` rewrites any of these as a plain ``nn.Sequential`` of ``Linear`` and
``ReLU`` computing the same real function (the residual identity as relu(x) − relu(−x), which is
exact), so that the certifier imports it without knowing MMNNs.  Training results are floats:
the certified sup error of a trained network comes from ``certify network``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from constructive.errors import UserError


def parameter_counts(ranks: Sequence[int], widths: Sequence[int]) -> tuple[int, int]:
    """(frozen, trainable) parameters: frozen Σ n_j(d_{j−1} + 1), trainable Σ d_j(n_j + 1)."""
    if len(ranks) != len(widths) + 1:
        raise UserError(f"ranks {list(ranks)} must have one entry more than widths {list(widths)}")
    frozen = sum(n * (d_in + 1) for d_in, n in zip(ranks, widths))
    trainable = sum(d_out * (n + 1) for n, d_out in zip(widths, ranks[1:]))
    return frozen, trainable


def size_triple(d_in: int, d_out: int, width: int, rank: int, depth: int) -> tuple[list[int], list[int]]:
    """The official code's convention: ranks [d_in] + [r]*(l−1) + [d_out], widths [w]*l."""
    for name, v, lo, hi in (("d_in", d_in, 1, 64), ("d_out", d_out, 1, 64), ("width", width, 1, 10**5),
                            ("rank", rank, 1, 10**4), ("depth", depth, 1, 100)):
        if not isinstance(v, int) or not lo <= v <= hi:
            raise UserError(f"MMNN {name}={v!r} is not allowed; use an integer in [{lo}, {hi}]")
    return [d_in] + [rank] * (depth - 1) + [d_out], [width] * depth


class MMNN(nn.Module):
    """x ↦ h_l ∘ … ∘ h_1(x), h_j(y) = A_j relu(W_j y + b_j) + c_j; (W_j, b_j) frozen."""

    def __init__(self, ranks: Sequence[int], widths: Sequence[int], resnet: bool = False,
                 seed: int = 0, fix_wb: bool = True) -> None:
        super().__init__()
        parameter_counts(ranks, widths)
        self.ranks, self.widths = list(ranks), list(widths)
        self.resnet, self.seed, self.fix_wb = bool(resnet), int(seed), bool(fix_wb)
        # the seed fixes every initial weight, frozen and trained alike (the official code sets none)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            fcs = []
            for d_in, n, d_out in zip(self.ranks, self.widths, self.ranks[1:]):
                fcs += [nn.Linear(d_in, n, dtype=torch.float32), nn.Linear(n, d_out, dtype=torch.float32)]
        # fcs[2j] = (W_j, b_j), fcs[2j+1] = (A_j, c_j): the official code's state-dict layout
        self.fcs = nn.ModuleList(fcs)
        if self.fix_wb:
            for lin in self.inner:
                lin.weight.requires_grad_(False)
                lin.bias.requires_grad_(False)

    @property
    def inner(self) -> list[nn.Linear]:
        return list(self.fcs[0::2])

    @property
    def outer(self) -> list[nn.Linear]:
        return list(self.fcs[1::2])

    @property
    def depth(self) -> int:
        return len(self.widths)

    def residual(self, j: int) -> bool:
        return self.resnet and 0 < j < self.depth - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for j, (W, A) in enumerate(zip(self.inner, self.outer)):
            y = A(torch.relu(W(x)))
            if self.residual(j):
                k = min(x.shape[1], y.shape[1])
                y = torch.cat([y[:, :k] + x[:, :k], y[:, k:]], dim=1)
            x = y
        return x

    def trainable_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def frozen_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if not p.requires_grad)

    def describe(self) -> dict:
        frozen, trainable = parameter_counts(self.ranks, self.widths)
        return {"kind": "ResMMNN" if self.resnet else "MMNN", "ranks": self.ranks, "widths": self.widths,
                "size": [max(self.widths), max(self.ranks[1:-1], default=0), self.depth],
                "seed": self.seed, "frozen": frozen, "trainable": trainable}


def to_sequential(model: MMNN) -> nn.Sequential:
    """A Linear/ReLU ``nn.Sequential`` computing the same real function as ``model``.

    Without residuals: W_1, ReLU, A_1, W_2, ReLU, A_2, … (consecutive Linear maps are kept as
    they are: composing them would multiply the parameter count).  A residual layer becomes
    [W; I; −I], ReLU, [A, P, −P] with P the identity on the first k coordinates, since
    x = relu(x) − relu(−x) holds exactly."""
    layers: list[nn.Module] = []
    for j, (W, A) in enumerate(zip(model.inner, model.outer)):
        Wt, bt, At, ct = (t.detach().clone() for t in (W.weight, W.bias, A.weight, A.bias))
        if model.residual(j):
            d_in, d_out = Wt.shape[1], At.shape[0]
            k = min(d_in, d_out)
            eye = torch.eye(d_in, dtype=Wt.dtype)
            P = torch.zeros(d_out, d_in, dtype=Wt.dtype)
            P[:k, :k] = torch.eye(k, dtype=Wt.dtype)
            Wt = torch.cat([Wt, eye, -eye])
            bt = torch.cat([bt, torch.zeros(2 * d_in, dtype=Wt.dtype)])
            At = torch.cat([At, P, -P], dim=1)
        first, second = nn.Linear(Wt.shape[1], Wt.shape[0]), nn.Linear(At.shape[1], At.shape[0])
        with torch.no_grad():
            first.weight.copy_(Wt)
            first.bias.copy_(bt)
            second.weight.copy_(At)
            second.bias.copy_(ct)
        layers += [first, nn.ReLU(), second]
    return nn.Sequential(*layers).float()


def fcnn(d_in: int, d_out: int, width: int, hidden: int, seed: int = 0) -> nn.Sequential:
    """A fully connected ReLU network with ``hidden`` hidden layers of ``width``, all trained."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sizes = [d_in] + [width] * hidden
        layers: list[nn.Module] = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], d_out))
    return nn.Sequential(*layers)


def fcnn_parameter_count(d_in: int, d_out: int, width: int, hidden: int) -> int:
    return d_in * width + width + (hidden - 1) * (width * width + width) + width * d_out + d_out


def matched_fcnn_width(trainable: int, d_in: int, d_out: int, hidden: int) -> int:
    """The width whose FCNN (``hidden`` hidden layers) has the trainable count closest to
    ``trainable`` (the comparison in the paper is at equal trained parameters)."""
    if hidden == 1:
        guess = max(1, round((trainable - d_out) / (d_in + 1 + d_out)))
    else:  # (hidden−1) n² + (d_in + hidden + d_out) n + d_out = trainable
        a, b = hidden - 1, d_in + hidden + d_out
        guess = max(1, round((-b + math.sqrt(b * b + 4 * a * (trainable - d_out))) / (2 * a)))
    best = min(range(max(1, guess - 2), guess + 3),
               key=lambda n: abs(fcnn_parameter_count(d_in, d_out, n, hidden) - trainable))
    return best


@dataclass
class History:
    """What the training loop reports, as the official scripts do (floats, never certificates)."""

    epochs: list[int] = field(default_factory=list)
    train_mse: list[float] = field(default_factory=list)
    test_max: list[float] = field(default_factory=list)
    test_mse: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # process CPU time: the machine is shared


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
          epochs: int, batch: int, lr: float = 1e-3, gamma: float = 0.9, step: int = 400,
          report_every: int = 50, seed: int = 0,
          progress: Optional[Callable[[int, History], None]] = None) -> History:
    """Adam on the MSE with lr_k = lr · gamma^⌊k/step⌋ per epoch, shuffled mini-batches (the
    official recipe).  Test MAX and MSE on (x_test, y_test) every ``report_every`` epochs."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step, gamma=gamma)
    gen = torch.Generator().manual_seed(seed)
    hist = History()
    start, cpu_start = time.perf_counter(), time.process_time()
    n = x.shape[0]
    loss = torch.zeros(())
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        for k in range(0, n, batch):
            idx = perm[k:k + batch]
            opt.zero_grad()
            loss = torch.mean((model(x[idx]) - y[idx]) ** 2)
            loss.backward()
            opt.step()
        sched.step()
        if epoch % report_every == 0 or epoch == epochs:
            with torch.no_grad():
                e = (model(x_test) - y_test).double()
            hist.epochs.append(epoch)
            hist.train_mse.append(float(loss.item()))
            hist.test_max.append(float(e.abs().max()))
            hist.test_mse.append(float((e ** 2).mean()))
            hist.seconds.append(time.perf_counter() - start)
            hist.cpu_seconds.append(time.process_time() - cpu_start)
            if progress is not None:
                progress(epoch, hist)
    return hist


def fit_reporting(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor,
                  y_test: torch.Tensor, settings: dict) -> tuple[nn.Module, History]:
    """:func:`train` with the ``settings`` of an example, printing ten progress lines; returns the
    trained model with its history.  A module-level function so that a spawned process can run it
    (the examples train the MMNN and its FCNN side by side)."""
    torch.set_num_threads(settings["threads"])
    epochs = settings["epochs"]

    def show(epoch: int, hist: History) -> None:
        if not settings["quiet"]:
            print(f"  {name} epoch {epoch}/{epochs}: train MSE {hist.train_mse[-1]:.2e}, "
                  f"test MAX {hist.test_max[-1]:.2e}, {hist.seconds[-1]:.0f} s", flush=True)

    hist = train(model, x, y, x_test, y_test, epochs=epochs, batch=settings["batch"], lr=settings["lr"],
                 step=settings["step"], seed=settings["seed"], report_every=max(1, epochs // 10), progress=show)
    return model, hist


def float64_errors(model: nn.Module, fn: Callable[[np.ndarray], np.ndarray], points: np.ndarray) -> tuple[float, float]:
    """(max, mse) of |model − fn| at ``points`` with the model replayed in float64 (a lower
    estimate of the sup, printed beside the certified bound)."""
    m64 = _as_float64(model)
    with torch.no_grad():
        out = m64(torch.tensor(points, dtype=torch.float64)).numpy().reshape(len(points), -1)[:, 0]
    e = out - fn(points)
    return float(np.max(np.abs(e))), float(np.mean(e ** 2))


def _as_float64(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model).double()
