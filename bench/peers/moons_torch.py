#!/usr/bin/python3
"""PyTorch peer of bench/train_bench.cpp: the seed's network trained the same way, 1 thread.

2-100-2-1 tanh/tanh/sigmoid (nn.Linear default init), nn.BCELoss (mean), torch.optim.SGD(lr=0.1,
no momentum), float32, on make_moons points with noise 0.1 (the same geometry as affine's
nn::data::make_moons; the exact points differ, which does not change the work per step).

    /usr/bin/python3 bench/peers/moons_torch.py            # JSON lines, one per benchmark
    /usr/bin/python3 bench/peers/moons_torch.py --peak-rss-batch 100000

Output, one JSON object per line:
    {"name": "train_step/batch:32", "us_per_step": ..., "steps_per_s": ..., "reps": ...}
us_per_step is process CPU time per step (time.process_time), the median of several repetitions
of >= --min-time seconds each after a warm-up; with one thread CPU time is the step's own cost
and is less disturbed than wall time by the other processes of a shared machine.
"""
import argparse
import json
import math
import os
import statistics
import time

# One BLAS thread: torch.set_num_threads(1) does not reach the OpenBLAS that Debian's torch calls
# for its GEMMs, which starts its own threads when it loads. Set before numpy and torch load it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

LR = 0.1
NOISE = 0.1


def make_moons(n, noise, seed):
    """sklearn.datasets.make_moons geometry: x [n, 2], y [n, 1] float32, shuffled, with noise."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, math.pi, n_out)
    t_in = np.linspace(0, math.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    p = rng.permutation(n)
    x = x[p] + rng.normal(0, noise, size=(n, 2))
    return (torch.from_numpy(x.astype(np.float32)),
            torch.from_numpy(y[p].astype(np.float32)).reshape(n, 1))


class Model:
    def __init__(self, seed=0):
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2, 100), torch.nn.Tanh(),
            torch.nn.Linear(100, 2), torch.nn.Tanh(),
            torch.nn.Linear(2, 1), torch.nn.Sigmoid())
        self.opt = torch.optim.SGD(self.net.parameters(), lr=LR)
        self.loss_fn = torch.nn.BCELoss()

    def step(self, x, y):
        """One optimizer step as a user writes it (zero_grad, forward, loss, backward, step)."""
        self.opt.zero_grad()
        loss = self.loss_fn(self.net(x), y)
        loss.backward()
        self.opt.step()
        return loss


def time_steps(fn, min_time, reps, warmup):
    """Median CPU seconds per call of fn over reps repetitions of >= min_time each."""
    for _ in range(warmup):
        fn()
    # Calibrate the repetition length so each one lasts about min_time.
    n = 1
    while True:
        t0 = time.process_time()
        for _ in range(n):
            fn()
        dt = time.process_time() - t0
        if dt >= min_time / 4 or n >= 1 << 20:
            break
        n *= 2
    n = max(1, int(n * min_time / max(dt, 1e-9)))
    per_step = []
    for _ in range(reps):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        per_step.append((time.process_time() - t0) / n)
    return statistics.median(per_step), n


def emit(name, seconds, **extra):
    rec = {"name": name, "us_per_step": seconds * 1e6, "steps_per_s": 1.0 / seconds}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def bench_step(batch, min_time, reps):
    m = Model(0)
    x, y = make_moons(batch, NOISE, 1)
    warmup = 3 if batch >= 100000 else 20
    sec, n = time_steps(lambda: m.step(x, y), min_time, reps, warmup)
    emit(f"train_step/batch:{batch}", sec, reps=reps, steps_per_rep=n,
         final_loss=float(m.step(x, y).item()))


def bench_run(reps, epochs=150, n=1000, batch=32):
    """The whole 150-epoch run: shuffled mini-batches, indexing with a permutation (cheaper than
    torch.utils.data.DataLoader over a TensorDataset, which collates sample by sample)."""
    x, y = make_moons(n, NOISE, 1)
    times = []
    steps = 0
    loss = None
    for _ in range(reps):
        m = Model(0)
        g = torch.Generator().manual_seed(2)
        steps = 0
        t0 = time.process_time()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, batch):
                idx = perm[i:i + batch]
                loss = m.step(x[idx], y[idx])
                steps += 1
        times.append(time.process_time() - t0)
    sec = statistics.median(times)
    emit("train_run/epochs:150/n:1000/batch:32", sec / steps, reps=reps, steps=steps,
         run_s=sec, final_loss=float(loss.item()))


def peak_rss_run(batch):
    m = Model(0)
    x, y = make_moons(batch, NOISE, 1)
    loss = None
    for _ in range(5):
        loss = m.step(x, y)
    print(json.dumps({"name": f"peak_rss_run/batch:{batch}", "loss": float(loss.item())}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peak-rss-batch", type=int, default=0,
                    help="only build the model and a batch of this size, take 5 steps, exit")
    ap.add_argument("--filter", default="", help="run only benchmarks whose name contains this")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if args.peak_rss_batch:
        peak_rss_run(args.peak_rss_batch)
        return
    for batch in (32, 1000, 100000):
        if args.filter in f"train_step/batch:{batch}":
            bench_step(batch, args.min_time, args.reps)
    if args.filter in "train_run/epochs:150/n:1000/batch:32":
        bench_run(max(1, min(args.reps, 3)))


if __name__ == "__main__":
    main()
