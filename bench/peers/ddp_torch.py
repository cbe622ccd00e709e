#!/usr/bin/python3
"""PyTorch peer of bench/dist_bench.cpp: the same two models trained with
torch.nn.parallel.DistributedDataParallel over Gloo, 1 thread per process.

    /usr/bin/python3 bench/peers/ddp_torch.py --world 2      # JSON lines from rank 0

Models (global batch split evenly over the ranks, as in dist_bench):
    seed: 2-100-2-1 tanh/tanh/sigmoid, nn.BCELoss, batch 100,000;
    mlp:  784-1024-1024-10 ReLU, nn.CrossEntropyLoss, batch 256.
Benchmarks per model: <model>/step (DDP step: forward, backward with DDP's bucketed allreduce,
SGD step), <model>/compute (the same inside ddp.no_sync()), <model>/allreduce (dist.all_reduce of
one flat tensor as large as the gradients, then divided by the world size). Each is a fixed
number of iterations after a warm-up step, timed on rank 0 with wall time between barriers;
with --repetitions R, each is timed R times and the fastest is printed (as dist_report does with
dist_bench's repetitions).
"""
import argparse
import json
import os
import socket
import time

# One thread per process, as dist_bench: torch.set_num_threads(1) limits ATen's OpenMP pool but not
# the BLAS that Debian's torch calls for its GEMMs (OpenBLAS, which starts one thread per core when
# loaded). Without this, the 1-process peer's GEMMs used both cores and the 2-process one ran 4
# threads on 2 cores. Set before torch (and OpenBLAS) load.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402

ITERS = {"seed": 30, "mlp": 20}


def make_model(which, world, rank):
    torch.manual_seed(42)
    g = torch.Generator().manual_seed(7 + rank)
    if which == "seed":
        local = 100_000 // world
        net = nn.Sequential(nn.Linear(2, 100), nn.Tanh(), nn.Linear(100, 2), nn.Tanh(),
                            nn.Linear(2, 1), nn.Sigmoid())
        x = torch.randn(local, 2, generator=g)
        y = torch.zeros(local, 1)
        y[::2] = 1
        return net, x, y, nn.BCELoss()
    local = 256 // world
    net = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                        nn.Linear(1024, 10))
    x = torch.randn(local, 784, generator=g)
    y = torch.randint(0, 10, (local,), generator=g)
    return net, x, y, nn.CrossEntropyLoss()


def timed(fn, iters):
    fn()  # warm-up
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    dist.barrier()
    return (time.perf_counter() - t0) / iters


def worker(rank, world, port, out, reps, models):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    results = []
    for which in models:
        net, x, y, loss_fn = make_model(which, world, rank)
        ddp = nn.parallel.DistributedDataParallel(net)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            opt.step()

        def local_step():
            with ddp.no_sync():
                step()

        flat = torch.ones(sum(p.numel() for p in net.parameters()))

        def allreduce():
            dist.all_reduce(flat)
            flat.div_(world)

        iters = ITERS[which]
        for name, fn, n in (("step", step, iters), ("compute", local_step, iters),
                            ("allreduce", allreduce, iters * 5)):
            s = min(timed(fn, n) for _ in range(reps))
            results.append({"name": f"{which}/{name}", "ms": s * 1e3, "steps_per_s": 1 / s,
                             "ranks": world})
    if rank == 0:
        with open(out, "w") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", type=int, default=1)
    ap.add_argument("--repetitions", type=int, default=1)
    ap.add_argument("--models", default="seed,mlp", help="comma-separated: seed, mlp")
    args = ap.parse_args()
    models = args.models.split(",")
    if not models or any(m not in ITERS for m in models):
        ap.error(f"--models: expected a comma-separated list of {', '.join(ITERS)}")
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = f"/tmp/ddp_torch_{os.getpid()}.jsonl"
    mp.spawn(worker, args=(args.world, port, out, args.repetitions, models), nprocs=args.world, join=True)
    with open(out) as f:
        print(f.read(), end="")
    os.remove(out)


if __name__ == "__main__":
    main()
