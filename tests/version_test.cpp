// The version counter: in-place modification of a tensor saved for backward is an error, as in
// PyTorch, while optimizer steps and no-grad updates between steps stay allowed.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "affine/affine.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using test::error_of;

std::vector<double> vec(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

TEST(Version, NewTensorsStartAtZeroAndInPlaceWritesCount) {
  Tensor t = Tensor::zeros({3});
  EXPECT_EQ(t.version(), 0u);
  EXPECT_EQ(Tensor::full({2}, 5).version(), 0u);
  EXPECT_EQ(t.clone().version(), 0u);
  EXPECT_EQ(t.to(DType::f64).version(), 0u);
  t.fill_(1);
  EXPECT_EQ(t.version(), 1u);
  t.copy_(Tensor::ones({3}));
  EXPECT_EQ(t.version(), 2u);
  t.set({0}, 4);
  EXPECT_EQ(t.version(), 3u);
  t.at<float>({1}) = 2;
  EXPECT_EQ(t.version(), 4u);
  t.bump_version();
  EXPECT_EQ(t.version(), 5u);
  // Reads do not count.
  (void)std::as_const(t).at<float>({1});
  (void)t.get({1});
  EXPECT_EQ(t.version(), 5u);
  EXPECT_EQ(Tensor().version(), 0u);
}

TEST(Version, ViewsShareTheCounter) {
  Tensor t = Tensor::zeros({4, 4});
  Tensor row = t[1];
  row.fill_(3);
  EXPECT_EQ(t.version(), 1u);
  EXPECT_EQ(t.t().version(), 1u);
  EXPECT_EQ(t.clone().version(), 0u);  // a copy has its own storage
}

// The probe of issue 15: fill_ between forward and backward of sum(w * w) gave [20, 20] silently.
TEST(Version, FillBetweenForwardAndBackwardIsAnError) {
  Parameter w(Tensor::of({1, 2}, {2}));
  Tape tape;
  Var x = tape.param(w);
  Var loss = sum(x * x);
  w.value.fill_(10);
  EXPECT_EQ(error_of([&] { loss.backward(); }),
            "backward of mul: an input saved for the gradient was modified in place (version 0 "
            "-> 1); modify a clone() instead, or modify after backward()");
}

TEST(Version, ModifiedSavedOutputNamesTheOutput) {
  Tape tape;
  Var x = tape.leaf(Tensor::of({0.5, -0.5}, {2}));
  Var y = tanh(x);
  Var loss = sum(y);
  Tensor yv = y.value();
  yv.set({0}, 0);
  const std::string msg = error_of([&] { loss.backward(); });
  EXPECT_NE(msg.find("backward of tanh: the output saved for the gradient"), std::string::npos)
      << msg;
}

// det's VJP uses its output (gA = g det(A) A^-T), so changing the output in place is caught too.
TEST(Version, ModifiedDeterminantOutputIsDetected) {
  Tape tape;
  Var a = tape.leaf(Tensor::of({2, 1, 1, 3}, {2, 2}, DType::f64));
  Var d = linalg::det(a);
  Tensor dv = d.value();
  dv.fill_(7);
  const std::string msg = error_of([&] { d.backward(); });
  EXPECT_NE(msg.find("backward of det"), std::string::npos) << msg;
}

TEST(Version, ModifyingAViewOfASavedInputIsDetected) {
  Parameter w(Tensor::of({1, 2, 3, 4}, {2, 2}));
  Tape tape;
  Var loss = sum(matmul(tape.param(w), tape.leaf(Tensor::ones({2, 1}), false)));
  w.value.t()[0].fill_(0);
  const std::string msg = error_of([&] { loss.backward(); });
  EXPECT_NE(msg.find("backward of matmul: an input saved"), std::string::npos) << msg;
}

TEST(Version, ATensorNobodySavedMayChange) {
  // sum's VJP needs only the shape, so changing its input afterwards does not affect the gradient.
  Parameter w(Tensor::of({1, 2}, {2}));
  Tape tape;
  Var loss = sum(tape.param(w));
  w.value.fill_(7);
  loss.backward();
  EXPECT_EQ(vec(w.grad), (std::vector<double>{1, 1}));
}

TEST(Version, OptimizerStepBetweenForwardAndBackwardIsAnError) {
  Parameter w(Tensor::of({1, 2}, {2}));
  nn::optim::SGD opt({&w}, {.lr = 0.1});
  Tape tape;
  Var loss = sum(tape.param(w) * tape.param(w));
  opt.step();  // w.grad is zeros: the values do not even change, but the write counts
  const std::string msg = error_of([&] { loss.backward(); });
  EXPECT_NE(msg.find("modified in place"), std::string::npos) << msg;
}

TEST(Version, StepsAndNoGradUpdatesBetweenStepsAreAllowed) {
  Parameter w(Tensor::of({1, 2}, {2}));
  nn::optim::SGD opt({&w}, {.lr = 0.25});
  Tape tape;
  for (int step = 0; step < 3; ++step) {
    tape.clear();
    opt.zero_grad();
    sum(tape.param(w) * tape.param(w)).backward();
    opt.step();  // w <- w - 0.25 * 2w = w / 2
    {
      NoGradGuard no_grad(tape);
      w.value.copy_(w.value.clone());  // an in-place no-grad update between steps
    }
  }
  EXPECT_EQ(vec(w.value), (std::vector<double>{0.125, 0.25}));
}

TEST(Version, AnErrorLeavesTheGraphUsableForTheMessageOnly) {
  // After the error the graph counts as backpropagated: a second backward says so.
  Parameter w(Tensor::of({1, 2}, {2}));
  Tape tape;
  Var loss = sum(tape.param(w) * 3.0 * tape.param(w));
  w.value.fill_(1);
  EXPECT_FALSE(error_of([&] { loss.backward(); }).empty());
  EXPECT_NE(error_of([&] { loss.backward(); }).find("already backpropagated"), std::string::npos);
}

}  // namespace
}  // namespace affine
