#!/usr/bin/python3
"""Writes tests/data/nn_golden.safetensors: PyTorch's outputs and gradients for the layers and
losses of affine::nn, which tests/nn_golden_test.cpp compares against.

Every case draws its inputs in float64 from a fixed seed, then runs twice: in float64 and in
float32 (the inputs rounded to float32). Entries are named "<case>.<tensor>.<f64|f32>": the
inputs (x, weight, bias, ...), an upstream gradient "gy" of the output's shape, the output "y"
and the gradients "dx", "dweight", ... of sum(y * gy). Losses store "loss" and "dx" for each
reduction. Only the Python standard library writes the file (Debian packages no safetensors).

Regenerate (Debian's python3-torch): /usr/bin/python3 tests/data/make_nn_golden.py
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "nn_golden.safetensors")

entries = []  # (name, tensor)


def put(name, t):
    entries.append((name, t.detach().contiguous()))


def rand(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def run_case(case, inputs, fn, grads_of=None):
    """inputs: dict name -> float64 tensor (int64 tensors pass through). fn(**tensors) -> y.
    grads_of: the input names whose gradients are stored (default: every float input)."""
    for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        ts = {}
        for k, v in inputs.items():
            if v.dtype == torch.int64:
                ts[k] = v
            else:
                ts[k] = v.to(dt).clone().requires_grad_(grads_of is None or k in grads_of)
        y = fn(**ts)
        gen = torch.Generator().manual_seed(1234)
        gy = torch.randn(y.shape, generator=gen, dtype=torch.float64).to(dt)
        (y * gy).sum().backward()
        for k, v in ts.items():
            put(f"{case}.{k}.{tag}", v)
            if v.dtype != torch.int64 and v.grad is not None:
                put(f"{case}.d{k}.{tag}", v.grad)
        put(f"{case}.gy.{tag}", gy)
        put(f"{case}.y.{tag}", y)


g = torch.Generator().manual_seed(0)

# ---- convolution --------------------------------------------------------------------------------
run_case("conv", dict(x=rand(g, 2, 3, 6, 5), weight=rand(g, 4, 3, 3, 3), bias=rand(g, 4)),
         lambda x, weight, bias: F.conv2d(x, weight, bias, stride=1, padding=1))
run_case("conv_grouped", dict(x=rand(g, 2, 4, 9, 8), weight=rand(g, 6, 2, 3, 2), bias=rand(g, 6)),
         lambda x, weight, bias: F.conv2d(x, weight, bias, stride=(2, 1), padding=(1, 2),
                                          dilation=(2, 1), groups=2))

# ---- pooling ------------------------------------------------------------------------------------
run_case("max_pool", dict(x=rand(g, 2, 3, 7, 6)),
         lambda x: F.max_pool2d(x, 3, stride=2, padding=1))
run_case("avg_pool", dict(x=rand(g, 2, 3, 7, 6)),
         lambda x: F.avg_pool2d(x, 3, stride=2, padding=1))
run_case("avg_pool_exclude_pad", dict(x=rand(g, 2, 3, 7, 6)),
         lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
run_case("adaptive_avg_pool", dict(x=rand(g, 2, 3, 7, 5)),
         lambda x: F.adaptive_avg_pool2d(x, (3, 2)))

# ---- normalisation ------------------------------------------------------------------------------
run_case("layer_norm", dict(x=rand(g, 4, 5, 6), weight=rand(g, 5, 6), bias=rand(g, 5, 6)),
         lambda x, weight, bias: F.layer_norm(x, (5, 6), weight, bias, eps=1e-5))


def batch_norm_case(case, x, training):
    c = x.shape[1]
    rm0 = rand(g, c) * 0.1
    rv0 = rand(g, c).abs() + 0.5
    w = rand(g, c)
    b = rand(g, c)
    for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        rm = rm0.to(dt).clone()
        rv = rv0.to(dt).clone()
        put(f"{case}.running_mean0.{tag}", rm)
        put(f"{case}.running_var0.{tag}", rv)

    def fn(x, weight, bias, running):
        return F.batch_norm(x, running[0], running[1], weight, bias, training=training,
                            momentum=0.1, eps=1e-5)

    for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        running = (rm0.to(dt).clone(), rv0.to(dt).clone())
        ts = dict(x=x.to(dt).clone().requires_grad_(), weight=w.to(dt).clone().requires_grad_(),
                  bias=b.to(dt).clone().requires_grad_())
        y = fn(running=running, **ts)
        gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(1234),
                         dtype=torch.float64).to(dt)
        (y * gy).sum().backward()
        for k, v in ts.items():
            put(f"{case}.{k}.{tag}", v)
            put(f"{case}.d{k}.{tag}", v.grad)
        put(f"{case}.gy.{tag}", gy)
        put(f"{case}.y.{tag}", y)
        put(f"{case}.running_mean.{tag}", running[0])
        put(f"{case}.running_var.{tag}", running[1])


batch_norm_case("batch_norm2d", rand(g, 4, 3, 5, 4) * 2 + 1, training=True)
batch_norm_case("batch_norm2d_eval", rand(g, 4, 3, 5, 4), training=False)
batch_norm_case("batch_norm1d", rand(g, 6, 4) * 3 - 1, training=True)
batch_norm_case("batch_norm1d_3d", rand(g, 5, 3, 4), training=True)

# ---- embedding ----------------------------------------------------------------------------------
run_case("embedding",
         dict(indices=torch.tensor([[1, 3, 3], [9, 0, 2]], dtype=torch.int64),
              weight=rand(g, 10, 4)),
         lambda indices, weight: F.embedding(indices, weight))

# ---- activations --------------------------------------------------------------------------------
act_x = rand(g, 3, 7) * 3
run_case("gelu", dict(x=act_x), lambda x: F.gelu(x))
run_case("leaky_relu", dict(x=act_x), lambda x: F.leaky_relu(x, 0.2))
run_case("softplus", dict(x=act_x), lambda x: F.softplus(x, beta=2, threshold=5))
run_case("silu", dict(x=act_x), lambda x: F.silu(x))

# ---- losses -------------------------------------------------------------------------------------
logits = rand(g, 6, 5)
targets = torch.tensor([0, 4, 2, 2, 1, 3], dtype=torch.int64)
class_w = rand(g, 5).abs() + 0.2
targets_ignored = torch.tensor([0, -100, 2, 2, -100, 3], dtype=torch.int64)
for red in ("mean", "sum", "none"):
    run_case(f"cross_entropy_{red}", dict(x=logits, targets=targets),
             lambda x, targets: F.cross_entropy(x, targets, reduction=red))
    run_case(f"cross_entropy_weighted_smoothed_{red}",
             dict(x=logits, targets=targets, weight=class_w),
             lambda x, targets, weight: F.cross_entropy(x, targets, weight=weight, reduction=red,
                                                        label_smoothing=0.15),
             grads_of={"x"})
    run_case(f"nll_weighted_{red}", dict(x=torch.log_softmax(logits, 1), targets=targets,
                                         weight=class_w),
             lambda x, targets, weight: F.nll_loss(x, targets, weight=weight, reduction=red),
             grads_of={"x"})
    # ignore_index: PyTorch's default -100, and a class index (2) with weights and smoothing.
    run_case(f"cross_entropy_ignore_{red}", dict(x=logits, targets=targets_ignored),
             lambda x, targets: F.cross_entropy(x, targets, reduction=red))
    run_case(f"cross_entropy_weighted_smoothed_ignore2_{red}",
             dict(x=logits, targets=targets, weight=class_w),
             lambda x, targets, weight: F.cross_entropy(x, targets, weight=weight, reduction=red,
                                                        label_smoothing=0.15, ignore_index=2),
             grads_of={"x"})
    run_case(f"nll_weighted_ignore_{red}", dict(x=torch.log_softmax(logits, 1),
                                                targets=targets_ignored, weight=class_w),
             lambda x, targets, weight: F.nll_loss(x, targets, weight=weight, reduction=red),
             grads_of={"x"})
    pred = rand(g, 4, 6) * 2
    target = rand(g, 4, 6) * 2
    run_case(f"l1_{red}", dict(x=pred, target=target),
             lambda x, target: F.l1_loss(x, target, reduction=red))
    run_case(f"smooth_l1_{red}", dict(x=pred, target=target),
             lambda x, target: F.smooth_l1_loss(x, target, reduction=red, beta=0.5))
    run_case(f"huber_{red}", dict(x=pred, target=target),
             lambda x, target: F.huber_loss(x, target, reduction=red, delta=0.7))

# ---- write the file (safetensors layout, standard library only) ---------------------------------

# ---- BatchNorm2d options, module level (drawn last, so the cases above keep their numbers) ------
# momentum=None: three training batches, then eval (the running statistics are the cumulative
# average); track_running_stats=False: eval() normalises by the batch's own statistics.
bn_batches = [rand(g, 4, 3, 3, 2) * 2 + 0.5 for _ in range(3)]
bn_probe = rand(g, 2, 3, 3, 2)
for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
    m = torch.nn.BatchNorm2d(3, momentum=None).to(dt)
    for i, xb in enumerate(bn_batches):
        put(f"bn_cumulative.x{i}.{tag}", xb.to(dt))
        m(xb.to(dt))
    put(f"bn_cumulative.running_mean.{tag}", m.running_mean)
    put(f"bn_cumulative.running_var.{tag}", m.running_var)
    m.eval()
    put(f"bn_cumulative.probe.{tag}", bn_probe.to(dt))
    put(f"bn_cumulative.y.{tag}", m(bn_probe.to(dt)))
    u = torch.nn.BatchNorm2d(3, track_running_stats=False).to(dt).eval()
    put(f"bn_untracked.y.{tag}", u(bn_probe.to(dt)))


# ---- max_pool2d ceil_mode (drawn after everything above) --------------------------------------
# 5x7 with kernel 2, stride 2: 3x4 windows instead of 2x3. 5x6 with kernel 2, stride 2, padding 1:
# rounding up would add a 4th row of windows starting in the bottom padding, which PyTorch drops.
run_case("max_pool_ceil", dict(x=rand(g, 2, 3, 5, 7)),
         lambda x: F.max_pool2d(x, 2, stride=2, ceil_mode=True))
run_case("max_pool_ceil_padded", dict(x=rand(g, 1, 2, 5, 6)),
         lambda x: F.max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True))

CODES = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int64: ("I64", "q")}
header = {"__metadata__": {"generator": "tests/data/make_nn_golden.py",
                           "torch": torch.__version__}}
blobs = []
offset = 0
for name, t in entries:
    dtype, code = CODES[t.dtype]
    values = t.reshape(-1).tolist()
    blob = struct.pack("<%d%s" % (len(values), code), *values)
    header[name] = {"dtype": dtype, "shape": list(t.shape),
                    "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(OUT, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for blob in blobs:
        f.write(blob)
print(f"wrote {OUT}: {len(entries)} tensors, {os.path.getsize(OUT)} bytes")
