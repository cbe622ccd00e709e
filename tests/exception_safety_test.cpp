// Exception guarantees under allocation failure: every operator new call in an operation is made
// to fail in turn (n = 0, 1, 2, ... until the operation succeeds), and after each failure the
// objects must be as the documented guarantee says.
#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "affine/affine.hpp"
#include "alloc_counter.hpp"

namespace affine {
namespace {

using test::FailAllocation;

std::vector<double> vec(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

// What a Sequential lists, read through every pointer it holds (ASan reports a dangling one).
std::string listing(nn::Sequential& net) {
  std::string s = net.name() + "|";
  for (auto& [name, p] : net.named_parameters()) {
    s += name + ":" + std::to_string(p->value.numel()) + ",";
  }
  for (const auto& [name, child] : net.children()) s += name + "=" + child->name() + ";";
  return s;
}

// Runs op with its n-th operator new call failing, n = 0, 1, ..., calling after_failure(n) after
// each std::bad_alloc, until op completes; returns the number of failures.
template <class Op, class Check>
int fail_each_allocation(Op&& op, Check&& after_failure) {
  for (int64_t n = 0;; ++n) {
    try {
      FailAllocation fail(n);
      op();
      return static_cast<int>(n);
    } catch (const std::bad_alloc&) {
      after_failure(n);
    }
  }
}

// A Sequential of Linear(2, 3) and Tanh, and its listing before the operation under test.
class SequentialUnderFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    net.push_back(nn::Linear(2, 3, gen));
    net.push_back(nn::Tanh());
    before = listing(net);
  }
  Generator gen{3};
  nn::Sequential net;
  std::string before;
};

TEST_F(SequentialUnderFailure, PushBackIsStrong) {
  std::unique_ptr<nn::Module> layer;
  const int failures = fail_each_allocation(
      [&] {
        layer = std::make_unique<nn::Linear>(3, 1, gen);
        net.push_back(std::move(layer));
      },
      [&](int64_t n) {
        ASSERT_EQ(net.size(), 2) << "allocation " << n;
        EXPECT_EQ(listing(net), before) << "allocation " << n;
      });
  EXPECT_GT(failures, 0);  // push_back does allocate, so the loop above tested something
  EXPECT_EQ(net.size(), 3);
  EXPECT_EQ(net.parameters().size(), 4u);
}

TEST_F(SequentialUnderFailure, AMoveThatThrowsLeavesTheSourceIntact) {
  std::unique_ptr<nn::Sequential> moved;
  fail_each_allocation([&] { moved = std::make_unique<nn::Sequential>(std::move(net)); },
                       [&](int64_t n) { EXPECT_EQ(listing(net), before) << "allocation " << n; });
  EXPECT_EQ(listing(*moved), before);
}

TEST(ExceptionSafety, OptimizerStepIsAllOrNothingUnderAllocationFailure) {
  for (bool adam : {false, true}) {
    Parameter a(Tensor::of({1, 2}, {2}));
    Tensor base = Tensor::of({1, 2, 3, 4}, {2, 2});
    Parameter b(base.t());  // strided: its update goes through a copy
    a.grad = Tensor::of({0.5, -0.5}, {2});
    b.grad = Tensor::ones({2, 2});
    std::unique_ptr<nn::optim::Optimizer> opt;
    if (adam) {
      opt = std::make_unique<nn::optim::Adam>(std::vector<Parameter*>{&a, &b},
                                              nn::optim::AdamOptions{.lr = 0.1});
    } else {
      opt = std::make_unique<nn::optim::SGD>(std::vector<Parameter*>{&a, &b},
                                             nn::optim::SGDOptions{.lr = 0.1, .momentum = 0.5});
    }
    const auto va = vec(a.value), vb = vec(b.value);
    const int failures = fail_each_allocation([&] { opt->step(); },
                                              [&](int64_t n) {
                                                EXPECT_EQ(vec(a.value), va) << "allocation " << n;
                                                EXPECT_EQ(vec(b.value), vb) << "allocation " << n;
                                                EXPECT_LE(opt->state().size(), 1u)
                                                    << "allocation " << n;  // Adam's "step" only
                                              });
    EXPECT_GT(failures, 0);
    EXPECT_NE(vec(a.value), va);
  }
}

}  // namespace
}  // namespace affine
