#!/usr/bin/python3
"""PyTorch peer of bench/nn_bench: the same three measurements in Python, one thread, CPU time
per step (time.process_time), printed as a small table.

    taskset -c 1 /usr/bin/python3 bench/peers/nn_torch.py [--reps 5]

Conv2dStep/<batch>/<in>/<out>/<size>: forward and backward (dx, dW, db) of a 3x3 convolution
with padding 1; DigitsStep: one Adam step of examples/digits' CNN on a batch of 32 8x8 images.
"""
import argparse
import os
import time

# One BLAS thread: torch.set_num_threads(1) does not reach the OpenBLAS that Debian's torch calls
# for its GEMMs, which starts its own threads when it loads. Set before torch loads it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def per_step(fn, min_seconds=1.0):
    fn()  # warm-up
    steps, start = 0, time.process_time()
    while True:
        fn()
        steps += 1
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return elapsed / steps


def conv_step(n, cin, cout, hw):
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    x0 = torch.randn(n, cin, hw, hw)
    gy = torch.randn(n, cout, hw, hw)

    def step():
        conv.zero_grad()
        x = x0.detach().requires_grad_(True)
        conv(x).backward(gy)
    return step


def digits_step():
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(32, 1, 8, 8)
    y = torch.randint(10, (32,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions; the best is printed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cases = [("Conv2dStep/32/1/16/8", conv_step(32, 1, 16, 8)),
             ("Conv2dStep/32/32/64/28", conv_step(32, 32, 64, 28)),
             ("DigitsStep", digits_step())]
    print(f"PyTorch {torch.__version__}, 1 thread, CPU time per step (best of {args.reps})")
    for name, fn in cases:
        best = min(per_step(fn) for _ in range(args.reps))
        print(f"{name:28s} {best * 1e6:12.1f} us")


if __name__ == "__main__":
    main()
