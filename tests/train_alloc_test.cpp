// The seed's training step in steady state: no heap allocation after the first step (tape nodes,
// tensor buffers and optimizer state all reused), and the fused training path (skinny linear,
// in-place activation backward) gives the losses an unfused float64 computation gives.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "affine/affine.hpp"
#include "alloc_counter.hpp"  // replaces global operator new in this test binary

namespace affine {
namespace {

// The seed network and its training step, written as a user writes it (as in bench/train_bench).
struct Seed {
  Generator gen;
  nn::Sequential net;
  nn::optim::SGD opt;
  nn::BCELoss loss_fn;
  Tape tape;

  explicit Seed(DType dtype = DType::f32)
      : gen(0),
        net{nn::Linear(2, 100, gen, true, dtype), nn::Tanh(),
            nn::Linear(100, 2, gen, true, dtype), nn::Tanh(),
            nn::Linear(2, 1, gen, true, dtype),   nn::Sigmoid()},
        opt(net.parameters(), {.lr = 0.1}) {}

  double step(const Tensor& x, const Tensor& y) {
    opt.zero_grad();
    const Var p = net(tape.leaf(x, /*requires_grad=*/false));
    const Var loss = loss_fn(p, Var(y));
    loss.backward();
    opt.step();
    const double l = loss.value().item();
    tape.clear();
    return l;
  }
};

void expect_no_allocations_per_step(int64_t batch) {
  Seed s;
  const nn::data::Dataset d = nn::data::make_moons(batch, 0.1, 1);
  s.step(d.x, d.y);  // the first step fills the caches
  const uint64_t sys0 = memory_stats().system_allocations;
  uint64_t news = 0;
  for (int i = 0; i < 20; ++i) {
    const test::AllocCounter count;
    s.step(d.x, d.y);
    news += count.thread_news();
  }
  EXPECT_EQ(news, 0u) << "operator new calls in 20 steps at batch " << batch;
  EXPECT_EQ(memory_stats().system_allocations - sys0, 0u)
      << "tensor buffers from the system in 20 steps at batch " << batch;
}

TEST(TrainAlloc, NoHeapAllocationPerStepAtBatch32) { expect_no_allocations_per_step(32); }
TEST(TrainAlloc, NoHeapAllocationPerStepAtBatch1000) { expect_no_allocations_per_step(1000); }

// The same training in float64 without the fused layer: linear written as matmul + add, tanh as
// (1 - e) / (1 + e) with e = exp(-2x), sigmoid as 1 / (1 + exp(-x)), the SGD update by hand.
// A reference that shares no kernel with the fused path except matmul and the elementwise ops.
Var ref_tanh(const Var& x) {
  const Var e = exp(mul(x, -2.0));
  return div(sub(1.0, e), add(e, 1.0));
}

Var ref_sigmoid(const Var& x) { return div(1.0, add(exp(neg(x)), 1.0)); }

TEST(TrainAlloc, FusedTrainingMatchesUnfusedFloat64) {
  Seed fused;  // float32, the fused path
  const nn::data::Dataset d = nn::data::make_moons(256, 0.1, 1);
  // Float64 copies of the same initial weights.
  std::vector<Parameter> ref;
  for (Parameter* p : fused.net.parameters()) ref.emplace_back(p->value.to(DType::f64).clone());
  const Tensor x64 = d.x.to(DType::f64);
  const Tensor y64 = d.y.to(DType::f64);
  Tape tape;
  for (int step = 0; step < 40; ++step) {
    const int64_t start = (step * 32) % 256;
    const Tensor xb = d.x.narrow(0, start, 32).contiguous();
    const Tensor yb = d.y.narrow(0, start, 32).contiguous();
    const double lf = fused.step(xb, yb);

    for (Parameter& p : ref) p.zero_grad();
    Var h = tape.leaf(x64.narrow(0, start, 32), false);
    for (int layer = 0; layer < 3; ++layer) {
      const Var w = tape.param(ref[static_cast<size_t>(2 * layer)]);
      const Var b = tape.param(ref[static_cast<size_t>(2 * layer + 1)]);
      h = add(matmul(h, transpose(w, 0, 1)), b);
      h = layer < 2 ? ref_tanh(h) : ref_sigmoid(h);
    }
    const Var yv(y64.narrow(0, start, 32));
    // BCE written out: -mean(y log p + (1 - y) log(1 - p)); p stays well inside (0, 1) here.
    const Var loss = neg(mean(add(mul(yv, log(h)), mul(sub(1.0, yv), log(sub(1.0, h))))));
    loss.backward();
    const double lr = loss.value().item();
    tape.clear();
    for (Parameter& p : ref) p.value = sub(p.value, mul(p.grad, 0.1));

    ASSERT_NEAR(lf, lr, 1e-4 * std::abs(lr) + 1e-6) << "step " << step;
  }
}

}  // namespace
}  // namespace affine
