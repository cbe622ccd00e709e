#!/usr/bin/python3
"""Generates tests/data/optim_golden.hpp: PyTorch's trajectories for tests/optim_test.cpp.

A fixed 2-4-1 network, Linear -> Tanh -> Linear -> Sigmoid, with binary cross-entropy (mean) on
eight fixed points, is trained for STEPS full-batch steps in float64 by each optimizer
configuration below (some clip the gradients before each step, as clip_grad_norm_ /
clip_grad_value_ do); the header records the fixed inputs, the loss before every step and the
final parameters (in named_parameters order: 0.weight, 0.bias, 2.weight, 2.bias).

It also records learning-rate schedules: the lr (and, for OneCycleLR, the momentum or beta1) that
each torch.optim.lr_scheduler gives after construction and after each of its step() calls, and the
total norms clip_grad_norm_ returned.

Regenerate (needs PyTorch and NumPy; Debian's python3-torch works):
    /usr/bin/python3 tests/data/make_optim_golden.py > tests/data/optim_golden.hpp
"""
import sys

import torch

torch.set_default_dtype(torch.float64)

STEPS = 20

W1 = [[0.5, -0.3], [0.8, 0.2], [-0.6, 0.4], [0.1, 0.9]]
B1 = [0.1, -0.2, 0.05, 0.0]
W2 = [[0.7, -0.5, 0.3, -0.8]]
B2 = [0.05]
X = [[0.0, 0.5], [1.0, -0.2], [-0.8, 0.3], [0.4, 0.9],
     [1.5, -0.4], [-0.3, -0.7], [0.9, 0.8], [0.2, -0.1]]
Y = [[0.0], [1.0], [0.0], [0.0], [1.0], [1.0], [0.0], [1.0]]

CONFIGS = [
    ("sgd_plain", "SGD", dict(lr=0.5)),
    ("sgd_momentum_dampening", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("sgd_nesterov_wd", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2,
                                    dampening=0.0)),
    ("adam", "Adam", dict(lr=0.05)),
    ("adam_wd", "Adam", dict(lr=0.05, weight_decay=1e-2)),
    ("adam_amsgrad", "Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=1e-2, amsgrad=True)),
    ("adamw", "AdamW", dict(lr=0.05)),
    ("adamw_amsgrad", "AdamW", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_momentum_centered_wd", "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=1e-2,
                                                     momentum=0.8, centered=True)),
    ("adagrad", "Adagrad", dict(lr=0.1)),
    ("adagrad_decay_wd_init", "Adagrad", dict(lr=0.2, lr_decay=0.05, weight_decay=1e-2,
                                              initial_accumulator_value=0.1, eps=1e-8)),
]

# (name, optimizer, options, clipping): clip_grad_norm_(max_norm, norm_type) or
# clip_grad_value_(clip_value) between backward() and step().
CLIPPED = [
    ("sgd_clip_norm", "SGD", dict(lr=0.5), ("norm", 0.05, 2.0)),
    ("sgd_momentum_clip_norm_l1", "SGD", dict(lr=0.1, momentum=0.9), ("norm", 0.1, 1.0)),
    ("adam_clip_norm_p3", "Adam", dict(lr=0.05), ("norm", 0.04, 3.0)),
    ("adam_clip_norm_inf", "Adam", dict(lr=0.05), ("norm", 0.02, float("inf"))),
    ("sgd_clip_value", "SGD", dict(lr=0.5), ("value", 0.01)),
]

SCHEDULE_STEPS = 30

# (name, optimizer, options, scheduler, scheduler options, metrics for ReduceLROnPlateau).
SCHEDULES = [
    ("step", "SGD", dict(lr=0.1), "StepLR", dict(step_size=4, gamma=0.5), None),
    ("cosine", "SGD", dict(lr=0.1), "CosineAnnealingLR", dict(T_max=10, eta_min=0.001), None),
    ("linear_warmup", "SGD", dict(lr=0.1), "LinearLR",
     dict(start_factor=0.25, end_factor=1.0, total_iters=8), None),
    ("one_cycle_sgd", "SGD", dict(lr=0.1, momentum=0.9), "OneCycleLR",
     dict(max_lr=0.5, total_steps=SCHEDULE_STEPS + 1), None),
    ("one_cycle_adam_linear_three_phase", "Adam", dict(lr=0.1), "OneCycleLR",
     dict(max_lr=0.01, total_steps=SCHEDULE_STEPS + 1, pct_start=0.25, anneal_strategy="linear",
          div_factor=10.0, final_div_factor=100.0, three_phase=True), None),
    ("plateau_min", "SGD", dict(lr=0.1), "ReduceLROnPlateau",
     dict(factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01),
     [1.0, 0.9, 0.895, 0.894, 0.893, 0.8, 0.8, 0.8, 0.8, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75,
      0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
    ("plateau_max_abs", "Adam", dict(lr=0.1), "ReduceLROnPlateau",
     dict(mode="max", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs"),
     [0.1, 0.2, 0.22, 0.3, 0.31, 0.32, 0.33, 0.5, 0.5, 0.56, 0.6, 0.6, 0.6, 0.6, 0.6,
      0.7, 0.7, 0.7, 0.7, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
]


def model():
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1),
                              torch.nn.Sigmoid())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(W1))
        net[0].bias.copy_(torch.tensor(B1))
        net[2].weight.copy_(torch.tensor(W2))
        net[2].bias.copy_(torch.tensor(B2))
    return net


def run(opt_name, kwargs, clip=None):
    net = model()
    opt = getattr(torch.optim, opt_name)(net.parameters(), **kwargs)
    x, y = torch.tensor(X), torch.tensor(Y)
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy(net(x), y)
        losses.append(loss.item())
        loss.backward()
        if clip is not None and clip[0] == "norm":
            norms.append(torch.nn.utils.clip_grad_norm_(net.parameters(), clip[1], clip[2]).item())
        elif clip is not None:
            torch.nn.utils.clip_grad_value_(net.parameters(), clip[1])
        opt.step()
    params = [v.detach().flatten().tolist() for _, v in net.named_parameters()]
    return losses, params, norms


def schedule(opt_name, kwargs, sched_name, sched_kwargs, metrics):
    """The lr (and momentum) after construction and after each of SCHEDULE_STEPS scheduler steps."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = getattr(torch.optim, opt_name)([p], **kwargs)
    sched = getattr(torch.optim.lr_scheduler, sched_name)(opt, **sched_kwargs)
    group = opt.param_groups[0]
    momentum = lambda: group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
    lrs, momenta = [group["lr"]], [momentum()]
    for i in range(SCHEDULE_STEPS):
        p.grad = torch.zeros(1)
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        lrs.append(group["lr"])
        momenta.append(momentum())
    return lrs, momenta


def arr(values):
    return "{" + ", ".join(repr(float(v)) for v in values) + "}"


def main():
    out = sys.stdout
    out.write("// Generated by tests/data/make_optim_golden.py with PyTorch %s; do not edit.\n"
              % torch.__version__)
    out.write("// Regenerate: /usr/bin/python3 tests/data/make_optim_golden.py > "
              "tests/data/optim_golden.hpp\n")
    out.write("#pragma once\n\n#include <vector>\n\nnamespace optim_golden {\n\n")
    out.write("inline constexpr int kSteps = %d;\n" % STEPS)
    flat = lambda m: [v for row in m for v in row]
    out.write("inline const std::vector<double> kW1 = %s;  // [4, 2]\n" % arr(flat(W1)))
    out.write("inline const std::vector<double> kB1 = %s;\n" % arr(B1))
    out.write("inline const std::vector<double> kW2 = %s;  // [1, 4]\n" % arr(flat(W2)))
    out.write("inline const std::vector<double> kB2 = %s;\n" % arr(B2))
    out.write("inline const std::vector<double> kX = %s;  // [8, 2]\n" % arr(flat(X)))
    out.write("inline const std::vector<double> kY = %s;  // [8, 1]\n\n" % arr(flat(Y)))
    out.write("struct Trajectory {\n  const char* name;\n  std::vector<double> losses;"
              "  // before each step\n  std::vector<std::vector<double>> params;"
              "  // 0.weight, 0.bias, 2.weight, 2.bias after kSteps steps\n"
              "  std::vector<double> clip_norms;  // what clip_grad_norm_ returned at each step\n"
              "};\n\n")
    out.write("inline const std::vector<Trajectory> kTrajectories = {\n")
    for name, opt_name, kwargs, clip in [c + (None,) for c in CONFIGS] + CLIPPED:
        losses, params, norms = run(opt_name, kwargs, clip)
        out.write("    // torch.optim.%s(%s)%s\n" % (
            opt_name, ", ".join("%s=%r" % kv for kv in kwargs.items()),
            "" if clip is None else ", clipping %r" % (clip,)))
        out.write("    {\"%s\",\n     %s,\n     {%s},\n     %s},\n" % (
            name, arr(losses), ",\n      ".join(arr(p) for p in params), arr(norms)))
    out.write("};\n\n")
    out.write("inline constexpr int kScheduleSteps = %d;\n\n" % SCHEDULE_STEPS)
    out.write("struct Schedule {\n  const char* name;\n  std::vector<double> metrics;"
              "  // given to ReduceLROnPlateau::step\n  std::vector<double> lrs;"
              "  // after construction, then after each step\n  std::vector<double> momenta;"
              "  // momentum (SGD) or beta1 (Adam), likewise\n};\n\n")
    out.write("inline const std::vector<Schedule> kSchedules = {\n")
    for name, opt_name, kwargs, sched_name, sched_kwargs, metrics in SCHEDULES:
        lrs, momenta = schedule(opt_name, kwargs, sched_name, sched_kwargs, metrics)
        out.write("    // torch.optim.%s(%s), lr_scheduler.%s(%s)\n" % (
            opt_name, ", ".join("%s=%r" % kv for kv in kwargs.items()), sched_name,
            ", ".join("%s=%r" % kv for kv in sched_kwargs.items())))
        out.write("    {\"%s\",\n     %s,\n     %s,\n     %s},\n" % (
            name, arr(metrics or []), arr(lrs), arr(momenta)))
    out.write("};\n\n}  // namespace optim_golden\n")


if __name__ == "__main__":
    main()
