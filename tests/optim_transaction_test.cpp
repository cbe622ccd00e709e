// Every optimizer's step() is all-or-nothing: a step that throws leaves parameters, state and step
// count as they were. A new optimizer gets these tests by adding one line to optimizers().
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "affine/affine.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using nn::optim::Optimizer;
using test::error_of;

struct OptimizerCase {
  std::string name;
  std::function<std::unique_ptr<Optimizer>(std::vector<Parameter*>)> make;
};

void PrintTo(const OptimizerCase& c, std::ostream* os) { *os << c.name; }

std::vector<OptimizerCase> optimizers() {
  using namespace nn::optim;
  return {
      {"SGD", [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1}); }},
      {"SGD_momentum_nesterov_decay",
       [](auto p) {
         return std::make_unique<SGD>(
             p, SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
       }},
      {"Adam", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01}); }},
      {"Adam_amsgrad_decay",
       [](auto p) {
         return std::make_unique<Adam>(
             p, AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"AdamW", [](auto p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01}); }},
      {"RMSprop_momentum_centered",
       [](auto p) {
         return std::make_unique<RMSprop>(p, RMSpropOptions{.momentum = 0.5, .centered = true});
       }},
      {"Adagrad", [](auto p) { return std::make_unique<Adagrad>(p, AdagradOptions{}); }},
  };
}

std::vector<double> vec(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

// Everything a step may change: every parameter's value and every state tensor.
struct Snapshot {
  std::vector<std::vector<double>> values;
  std::vector<std::pair<std::string, std::vector<double>>> state;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const Optimizer& opt) {
  Snapshot s;
  for (const Parameter* p : opt.params()) s.values.push_back(vec(p->value));
  for (const auto& [name, t] : opt.state()) s.state.emplace_back(name, vec(t));
  return s;
}

class OptimizerTransaction : public ::testing::TestWithParam<OptimizerCase> {};

// Three parameters, the middle one a strided view (its update is written back through a copy).
struct Params {
  Tensor base = Tensor::of({1, 2, 3, 4, 5, 6}, {2, 3});
  Parameter a{Tensor::of({1, -2}, {2})};
  Parameter b{base.t()};
  Parameter c{Tensor::of({0.5, 0.25, -1}, {3})};
  void set_grads() {
    a.grad = Tensor::of({0.1, 0.2}, {2});
    b.grad = Tensor::full({3, 2}, -0.3);
    c.grad = Tensor::of({1, 2, 3}, {3});
  }
  std::vector<Parameter*> list() { return {&a, &b, &c}; }
};

TEST_P(OptimizerTransaction, AStepThatThrowsChangesNothing) {
  for (int warm_steps : {0, 2}) {  // before any state exists, and with state
    Params p;
    auto opt = GetParam().make(p.list());
    p.set_grads();
    for (int i = 0; i < warm_steps; ++i) opt->step();
    const Snapshot before = snapshot(*opt);
    p.c.grad = Tensor::zeros({4});  // the last parameter's gradient has the wrong shape
    const std::string msg = error_of([&] { opt->step(); });
    EXPECT_NE(msg.find("parameter 2"), std::string::npos) << msg;
    EXPECT_TRUE(snapshot(*opt) == before) << GetParam().name << " after " << warm_steps;
    // The step after fixing the gradient is the one that would have happened.
    p.set_grads();
    Params q;
    auto reference = GetParam().make(q.list());
    q.set_grads();
    for (int i = 0; i <= warm_steps; ++i) reference->step();
    opt->step();
    EXPECT_TRUE(snapshot(*opt) == snapshot(*reference)) << GetParam().name;
  }
}

TEST_P(OptimizerTransaction, StateThatNoLongerFitsItsParameterIsRefusedBeforeAnyUpdate) {
  Params p;
  auto opt = GetParam().make(p.list());
  p.set_grads();
  opt->step();
  p.c.value = Tensor::zeros({5});  // replaced by a tensor of another shape after the state was made
  p.c.grad = Tensor::zeros({5});
  if (opt->state().empty()) {  // plain SGD keeps no state, so it can step
    opt->step();
    return;
  }
  const Snapshot before = snapshot(*opt);
  const std::string msg = error_of([&] { opt->step(); });
  EXPECT_NE(msg.find("changed after the optimizer made its state"), std::string::npos) << msg;
  EXPECT_TRUE(snapshot(*opt) == before);
}

TEST_P(OptimizerTransaction, AModuleMovedAfterTheOptimizerWasBuiltIsDetected) {
  Generator gen(1);
  nn::Linear layer(2, 3, gen);
  auto opt = GetParam().make(layer.parameters());
  nn::Sequential net;
  nn::Linear& moved = net.push_back(std::move(layer));
  const std::vector<double> weight = vec(moved.weight.value);
  moved.weight.grad.fill_(1);
  moved.bias.grad.fill_(1);
  EXPECT_NE(error_of([&] { opt->step(); }).find("parameter 0 was destroyed or moved from"),
            std::string::npos);
  EXPECT_NE(error_of([&] { opt->zero_grad(); }).find("destroyed or moved from"), std::string::npos);
  EXPECT_EQ(vec(moved.weight.value), weight);
  // Built after the move, the optimizer works.
  auto good = GetParam().make(net.parameters());
  good->step();
  EXPECT_NE(vec(moved.weight.value), weight);
}

TEST_P(OptimizerTransaction, ADestroyedParameterIsDetected) {
  auto owned = std::make_unique<Parameter>(Tensor::ones({2}));
  Parameter kept(Tensor::ones({2}));
  auto opt = GetParam().make({&kept, owned.get()});
  owned.reset();
  kept.grad.fill_(1);
  EXPECT_NE(error_of([&] { opt->step(); }).find("parameter 1 was destroyed"), std::string::npos);
  EXPECT_EQ(vec(kept.value), (std::vector<double>{1, 1}));
}

TEST_P(OptimizerTransaction, AStepCountsAsAnInPlaceWrite) {
  Params p;
  auto opt = GetParam().make(p.list());
  p.set_grads();
  const uint64_t va = p.a.value.version(), vb = p.b.value.version();
  opt->step();
  EXPECT_GT(p.a.value.version(), va);
  EXPECT_GT(p.b.value.version(), vb);  // the strided one too
}

INSTANTIATE_TEST_SUITE_P(All, OptimizerTransaction, ::testing::ValuesIn(optimizers()),
                         [](const auto& test_param) { return test_param.param.name; });

TEST(AdamTransaction, TheStepCountDoesNotMoveOnAThrow) {
  Parameter w(Tensor::ones({2}));
  nn::optim::Adam opt({&w}, {});
  w.grad = Tensor::ones({3});
  EXPECT_FALSE(error_of([&] { opt.step(); }).empty());
  EXPECT_EQ(opt.step_count(), 0);
}

}  // namespace
}  // namespace affine
