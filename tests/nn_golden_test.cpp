// Layers and losses against PyTorch: tests/data/make_nn_golden.py ran torch.nn.functional on
// fixed inputs in float64 and float32 and stored outputs and the gradients of sum(y * gy) for a
// fixed upstream gradient gy; here affine computes the same from the same inputs and must agree
// (float64 to ~1e-10 relative, float32 to ~1e-4).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "affine/affine.hpp"

namespace affine {
namespace {

const std::map<std::string, Tensor>& golden() {
  static const std::map<std::string, Tensor> g = [] {
    std::map<std::string, Tensor> m;
    for (auto& [name, t] :
         nn::load_safetensors(std::string(AFFINE_TEST_DATA_DIR) + "/nn_golden.safetensors")
             .tensors) {
      m.emplace(name, t);
    }
    return m;
  }();
  return g;
}

bool has(const std::string& name) { return golden().count(name) != 0; }

Tensor at(const std::string& name) {
  const auto it = golden().find(name);
  if (it == golden().end()) throw Error("nn_golden: no entry " + name);
  return it->second;
}

::testing::AssertionResult close(const Tensor& actual, const Tensor& expected) {
  if (actual.shape() != expected.shape() || actual.dtype() != expected.dtype()) {
    return ::testing::AssertionFailure()
           << "shape/dtype " << to_string(actual.shape()) << " " << dtype_name(actual.dtype())
           << " vs " << to_string(expected.shape()) << " " << dtype_name(expected.dtype());
  }
  const bool f64 = expected.dtype() == DType::f64;
  const double rtol = f64 ? 1e-9 : 2e-4;
  const double atol = f64 ? 1e-11 : 2e-5;
  if (allclose(actual, expected, rtol, atol)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got\n" << actual << "\nexpected\n" << expected;
}

const char* const kTags[] = {"f64", "f32"};

// Runs fn on the case's inputs (float ones as leaves on a tape, int64 ones as constants),
// compares y with PyTorch's, backpropagates gy and compares every gradient PyTorch stored.
void check_case(const std::string& c, const std::vector<std::string>& inputs,
                const std::function<Var(const std::vector<Var>&)>& fn) {
  for (const char* tag : kTags) {
    SCOPED_TRACE(c + " " + tag);
    const std::string sfx = std::string(".") + tag;
    Tape tape;
    std::vector<Var> vars;
    for (const std::string& name : inputs) {
      const Tensor v = at(c + "." + name + sfx);
      vars.push_back(v.dtype() == DType::i64 ? Var(v) : tape.leaf(v.clone(), true));
    }
    const Var y = fn(vars);
    EXPECT_TRUE(close(y.value(), at(c + ".y" + sfx)));
    tape.backward(y, at(c + ".gy" + sfx));
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string dname = c + ".d" + inputs[i] + sfx;
      if (!has(dname)) continue;
      SCOPED_TRACE("gradient of " + inputs[i]);
      EXPECT_TRUE(close(vars[i].grad(), at(dname)));
    }
  }
}

TEST(NnGolden, Conv2d) {
  check_case("conv", {"x", "weight", "bias"},
             [](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], 1, 1); });
  check_case("conv_grouped", {"x", "weight", "bias"}, [](const std::vector<Var>& v) {
    return conv2d(v[0], v[1], v[2], {2, 1}, {1, 2}, {2, 1}, 2);
  });
}

TEST(NnGolden, Pooling) {
  check_case("max_pool", {"x"},
             [](const std::vector<Var>& v) { return max_pool2d(v[0], 3, 2, 1); });
  check_case("max_pool_ceil", {"x"},
             [](const std::vector<Var>& v) { return max_pool2d(v[0], 2, 2, 0, 1, true); });
  check_case("max_pool_ceil_padded", {"x"},
             [](const std::vector<Var>& v) { return max_pool2d(v[0], 2, 2, 1, 1, true); });
  check_case("avg_pool", {"x"},
             [](const std::vector<Var>& v) { return avg_pool2d(v[0], 3, 2, 1); });
  check_case("avg_pool_exclude_pad", {"x"},
             [](const std::vector<Var>& v) { return avg_pool2d(v[0], 3, 2, 1, false); });
  check_case("adaptive_avg_pool", {"x"}, [](const std::vector<Var>& v) {
    return adaptive_avg_pool2d(v[0], {3, 2});
  });
}

TEST(NnGolden, LayerNorm) {
  check_case("layer_norm", {"x", "weight", "bias"}, [](const std::vector<Var>& v) {
    return layer_norm(v[0], {5, 6}, v[1], v[2], 1e-5);
  });
}

TEST(NnGolden, BatchNormTrainingAndEvaluation) {
  for (const std::string c :
       {"batch_norm2d", "batch_norm2d_eval", "batch_norm1d", "batch_norm1d_3d"}) {
    const bool training = c != "batch_norm2d_eval";
    for (const char* tag : kTags) {
      SCOPED_TRACE(c + " " + tag);
      const std::string sfx = std::string(".") + tag;
      Tensor running_mean = at(c + ".running_mean0" + sfx).clone();
      Tensor running_var = at(c + ".running_var0" + sfx).clone();
      Tape tape;
      const Var x = tape.leaf(at(c + ".x" + sfx).clone());
      const Var w = tape.leaf(at(c + ".weight" + sfx).clone());
      const Var b = tape.leaf(at(c + ".bias" + sfx).clone());
      const Var y = batch_norm(x, running_mean, running_var, w, b, training, 0.1, 1e-5);
      EXPECT_TRUE(close(y.value(), at(c + ".y" + sfx)));
      EXPECT_TRUE(close(running_mean, at(c + ".running_mean" + sfx)));
      EXPECT_TRUE(close(running_var, at(c + ".running_var" + sfx)));
      tape.backward(y, at(c + ".gy" + sfx));
      EXPECT_TRUE(close(x.grad(), at(c + ".dx" + sfx)));
      EXPECT_TRUE(close(w.grad(), at(c + ".dweight" + sfx)));
      EXPECT_TRUE(close(b.grad(), at(c + ".dbias" + sfx)));
    }
  }
}

TEST(NnGolden, Embedding) {
  check_case("embedding", {"indices", "weight"},
             [](const std::vector<Var>& v) { return embedding(v[0].value(), v[1]); });
}

TEST(NnGolden, Activations) {
  check_case("gelu", {"x"}, [](const std::vector<Var>& v) { return gelu(v[0]); });
  check_case("leaky_relu", {"x"}, [](const std::vector<Var>& v) { return leaky_relu(v[0], 0.2); });
  check_case("softplus", {"x"}, [](const std::vector<Var>& v) { return softplus(v[0], 2, 5); });
  check_case("silu", {"x"}, [](const std::vector<Var>& v) { return silu(v[0]); });
}

// BatchNorm2d(momentum = nullopt): the running statistics are the cumulative average of three
// batches; BatchNorm2d(track_running_stats = false) normalises by the batch even in eval().
TEST(NnGolden, BatchNormCumulativeAndUntracked) {
  for (const char* tag : kTags) {
    SCOPED_TRACE(tag);
    const std::string sfx = std::string(".") + tag;
    const DType dtype = std::string(tag) == "f64" ? DType::f64 : DType::f32;
    nn::BatchNorm2d bn(3, {.momentum = std::nullopt, .dtype = dtype});
    for (int i = 0; i < 3; ++i) bn(at("bn_cumulative.x" + std::to_string(i) + sfx));
    EXPECT_TRUE(close(bn.running_mean, at("bn_cumulative.running_mean" + sfx)));
    EXPECT_TRUE(close(bn.running_var, at("bn_cumulative.running_var" + sfx)));
    EXPECT_EQ(bn.num_batches_tracked.item(), 3);
    bn.eval();
    const Tensor probe = at("bn_cumulative.probe" + sfx);
    EXPECT_TRUE(close(bn(probe).value(), at("bn_cumulative.y" + sfx)));

    nn::BatchNorm2d untracked(3, {.track_running_stats = false, .dtype = dtype});
    untracked.eval();
    EXPECT_TRUE(close(untracked(probe).value(), at("bn_untracked.y" + sfx)));
    EXPECT_EQ(untracked.state_dict().size(), 2U);  // weight and bias: no running statistics
  }
  EXPECT_EQ(nn::BatchNorm1d(2, {.momentum = std::nullopt, .track_running_stats = false}).name(),
            "BatchNorm1d(2, eps=1e-05, momentum=None, affine=True, track_running_stats=False)");
}

TEST(NnGolden, Losses) {
  const std::pair<const char*, Reduction> reductions[] = {
      {"mean", Reduction::mean}, {"sum", Reduction::sum}, {"none", Reduction::none}};
  for (const auto& [rname, r] : reductions) {
    const std::string s = std::string("_") + rname;
    check_case("cross_entropy" + s, {"x", "targets"},
               [r = r](const std::vector<Var>& v) { return cross_entropy(v[0], v[1].value(), r); });
    check_case("cross_entropy_weighted_smoothed" + s, {"x", "targets", "weight"},
               [r = r](const std::vector<Var>& v) {
                 return cross_entropy(
                     v[0], v[1].value(),
                     {.reduction = r, .weight = v[2].value(), .label_smoothing = 0.15});
               });
    check_case("nll_weighted" + s, {"x", "targets", "weight"}, [r = r](const std::vector<Var>& v) {
      return nll_loss(v[0], v[1].value(), r, v[2].value());
    });
    // ignore_index: PyTorch's default -100, and class 2 (with weights and label smoothing).
    check_case("cross_entropy_ignore" + s, {"x", "targets"},
               [r = r](const std::vector<Var>& v) { return cross_entropy(v[0], v[1].value(), r); });
    check_case(
        "cross_entropy_weighted_smoothed_ignore2" + s, {"x", "targets", "weight"},
        [r = r](const std::vector<Var>& v) {
          return cross_entropy(
              v[0], v[1].value(),
              {.reduction = r, .weight = v[2].value(), .label_smoothing = 0.15, .ignore_index = 2});
        });
    check_case("nll_weighted_ignore" + s, {"x", "targets", "weight"},
               [r = r](const std::vector<Var>& v) {
                 return nll_loss(v[0], v[1].value(), r, v[2].value());
               });
    check_case("l1" + s, {"x", "target"},
               [r = r](const std::vector<Var>& v) { return l1_loss(v[0], v[1], r); });
    check_case("smooth_l1" + s, {"x", "target"},
               [r = r](const std::vector<Var>& v) { return smooth_l1_loss(v[0], v[1], r, 0.5); });
    check_case("huber" + s, {"x", "target"},
               [r = r](const std::vector<Var>& v) { return huber_loss(v[0], v[1], r, 0.7); });
  }
}

}  // namespace
}  // namespace affine
