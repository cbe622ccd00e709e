// Optimizers against PyTorch: the trajectories in data/optim_golden.hpp were produced by
// data/make_optim_golden.py with torch.optim in float64; the same network, data and options here
// must land on the same parameters.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"
#include "data/optim_golden.hpp"
#include "test_util.hpp"

namespace {

using namespace affine;      // NOLINT(google-build-using-namespace)
using namespace affine::nn;  // NOLINT(google-build-using-namespace)
namespace golden = optim_golden;

using affine::test::error_of;

// The script's network: Linear(2, 4) -> Tanh -> Linear(4, 1) -> Sigmoid with its fixed weights.
Sequential golden_network() {
  Generator gen(0);
  Sequential net{Linear(2, 4, gen, true, DType::f64), Tanh(), Linear(4, 1, gen, true, DType::f64),
                 Sigmoid()};
  net.at<Linear>(0).weight.value.copy_(Tensor::from_vector(golden::kW1, {4, 2}));
  net.at<Linear>(0).bias.value.copy_(Tensor::from_vector(golden::kB1, {4}));
  net.at<Linear>(2).weight.value.copy_(Tensor::from_vector(golden::kW2, {1, 4}));
  net.at<Linear>(2).bias.value.copy_(Tensor::from_vector(golden::kB2, {1}));
  return net;
}

// The options of each trajectory; they mirror CONFIGS in make_optim_golden.py.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name,
                                                 std::vector<Parameter*> params) {
  using optim::Adam;
  using optim::SGD;
  if (name == "sgd_plain" || name == "sgd_clip_norm" || name == "sgd_clip_value") {
    return std::make_unique<SGD>(params, optim::SGDOptions{.lr = 0.5});
  }
  if (name == "sgd_momentum_clip_norm_l1") {
    return std::make_unique<SGD>(params, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  }
  if (name == "sgd_momentum_dampening") {
    return std::make_unique<SGD>(params,
                                 optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3});
  }
  if (name == "sgd_nesterov_wd") {
    return std::make_unique<SGD>(
        params,
        optim::SGDOptions{
            .lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 1e-2, .nesterov = true});
  }
  if (name == "adam" || name == "adam_clip_norm_p3" || name == "adam_clip_norm_inf") {
    return std::make_unique<Adam>(params, optim::AdamOptions{.lr = 0.05});
  }
  if (name == "adam_wd") {
    return std::make_unique<Adam>(params, optim::AdamOptions{.lr = 0.05, .weight_decay = 1e-2});
  }
  if (name == "adam_amsgrad") {
    return std::make_unique<Adam>(
        params, optim::AdamOptions{
                    .lr = 0.05, .betas = {0.8, 0.99}, .weight_decay = 1e-2, .amsgrad = true});
  }
  if (name == "adamw")
    return std::make_unique<optim::AdamW>(params, optim::AdamWOptions{.lr = 0.05});
  if (name == "adamw_amsgrad") {
    return std::make_unique<optim::AdamW>(
        params, optim::AdamWOptions{
                    .lr = 0.05, .betas = {0.8, 0.99}, .weight_decay = 0.1, .amsgrad = true});
  }
  if (name == "rmsprop")
    return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions{.lr = 0.01});
  if (name == "rmsprop_momentum_centered_wd") {
    return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions{.lr = 0.01,
                                                                          .alpha = 0.9,
                                                                          .eps = 1e-6,
                                                                          .weight_decay = 1e-2,
                                                                          .momentum = 0.8,
                                                                          .centered = true});
  }
  if (name == "adagrad")
    return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions{.lr = 0.1});
  if (name == "adagrad_decay_wd_init") {
    return std::make_unique<optim::Adagrad>(params,
                                            optim::AdagradOptions{.lr = 0.2,
                                                                  .lr_decay = 0.05,
                                                                  .weight_decay = 1e-2,
                                                                  .initial_accumulator_value = 0.1,
                                                                  .eps = 1e-8});
  }
  throw std::logic_error("unknown trajectory " + name);
}

// The gradient clipping of each trajectory between backward() and step() (CLIPPED in the script);
// returns clip_grad_norm_'s total norm, or -1 when there is no norm to report.
double clip(const std::string& name, const std::vector<Parameter*>& params) {
  if (name == "sgd_clip_norm") return clip_grad_norm_(params, 0.05);
  if (name == "sgd_momentum_clip_norm_l1") return clip_grad_norm_(params, 0.1, 1.0);
  if (name == "adam_clip_norm_p3") return clip_grad_norm_(params, 0.04, 3.0);
  if (name == "adam_clip_norm_inf") return clip_grad_norm_(params, 0.02, kInfNorm);
  if (name == "sgd_clip_value") clip_grad_value_(params, 0.01);
  return -1;
}

// One full-batch step as the script takes it (clipping as trajectory `name` does); returns the
// loss before the update and appends clip_grad_norm_'s result to norms.
double train_step(Sequential& net, optim::Optimizer& opt, Tape& tape, const std::string& name = "",
                  std::vector<double>* norms = nullptr) {
  const Tensor x = Tensor::from_vector(golden::kX, {8, 2});
  const Tensor y = Tensor::from_vector(golden::kY, {8, 1});
  tape.clear();
  opt.zero_grad();
  Var loss = binary_cross_entropy(net(tape.leaf(x, false)), y);
  const double value = loss.value().item();
  loss.backward();
  const double norm = clip(name, net.parameters());
  if (norms != nullptr && norm >= 0) norms->push_back(norm);
  opt.step();
  return value;
}

void expect_golden_params(Sequential& net, const golden::Trajectory& t) {
  const auto params = net.parameters();
  ASSERT_EQ(params.size(), 4U);
  for (size_t i = 0; i < 4; ++i) {
    const auto got = params[i]->value.to_vector<double>();
    ASSERT_EQ(got.size(), t.params[i].size());
    for (size_t k = 0; k < got.size(); ++k) {
      const double want = t.params[i][k];
      EXPECT_LE(std::abs(got[k] - want), 1e-5 * std::abs(want) + 1e-12)
          << t.name << ": parameter " << i << " element " << k << " is " << got[k]
          << ", PyTorch has " << want;
    }
  }
}

TEST(Optim, ReproducesPyTorchTrajectories) {
  ASSERT_EQ(golden::kTrajectories.size(), 17U);
  for (const auto& t : golden::kTrajectories) {
    SCOPED_TRACE(t.name);
    Sequential net = golden_network();
    auto opt = make_optimizer(t.name, net.parameters());
    Tape tape;
    std::vector<double> norms;
    for (int s = 0; s < golden::kSteps; ++s) {
      const double loss = train_step(net, *opt, tape, t.name, &norms);
      EXPECT_NEAR(loss, t.losses[static_cast<size_t>(s)], 1e-10 * t.losses[static_cast<size_t>(s)])
          << "step " << s;
    }
    ASSERT_EQ(norms.size(), t.clip_norms.size());
    for (size_t s = 0; s < norms.size(); ++s) {
      EXPECT_NEAR(norms[s], t.clip_norms[s], 1e-12 * t.clip_norms[s]) << "clip norm, step " << s;
    }
    expect_golden_params(net, t);
  }
}

// Saving the state halfway, loading it into a fresh optimizer and finishing there must give the
// uninterrupted trajectory: the state is complete.
TEST(Optim, StateRoundTripResumesTrajectory) {
  for (const auto& t : golden::kTrajectories) {
    SCOPED_TRACE(t.name);
    Sequential net = golden_network();
    auto opt = make_optimizer(t.name, net.parameters());
    Tape tape;
    for (int s = 0; s < golden::kSteps / 2; ++s) train_step(net, *opt, tape, t.name);
    const optim::StateList saved = opt->state();
    auto resumed = make_optimizer(t.name, net.parameters());
    resumed->load_state(saved);
    for (int s = golden::kSteps / 2; s < golden::kSteps; ++s) {
      train_step(net, *resumed, tape, t.name);
    }
    expect_golden_params(net, t);
  }
}

TEST(Optim, StateNames) {
  Sequential net = golden_network();
  optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  EXPECT_TRUE(sgd.state().empty());  // buffers appear at the first step, as in PyTorch
  Tape tape;
  train_step(net, sgd, tape);
  const auto s = sgd.state();
  ASSERT_EQ(s.size(), 4U);
  EXPECT_EQ(s[0].first, "0.momentum_buffer");
  EXPECT_EQ(s[3].first, "3.momentum_buffer");
  EXPECT_EQ(s[0].second.shape(), Shape({4, 2}));
  // The first buffer is the first gradient itself.
  EXPECT_TRUE(allclose(s[2].second, net.parameters()[2]->grad, 0, 0));

  optim::Adam adam(net.parameters(), {.amsgrad = true});
  ASSERT_EQ(adam.state().size(), 1U);
  EXPECT_EQ(adam.state()[0].first, "step");
  train_step(net, adam, tape);
  train_step(net, adam, tape);
  const auto a = adam.state();
  ASSERT_EQ(a.size(), 1U + 4 * 3);
  EXPECT_EQ(a[0].first, "step");
  EXPECT_EQ(a[0].second.item(), 2);
  EXPECT_EQ(a[1].first, "0.exp_avg");
  EXPECT_EQ(a[2].first, "0.exp_avg_sq");
  EXPECT_EQ(a[3].first, "0.max_exp_avg_sq");
  EXPECT_EQ(a[12].first, "3.max_exp_avg_sq");
  EXPECT_EQ(adam.step_count(), 2);
}

TEST(Optim, LoadStateValidates) {
  Sequential net = golden_network();
  optim::Adam adam(net.parameters(), {});
  Tape tape;
  train_step(net, adam, tape);
  const auto good = adam.state();
  auto with = [&](auto edit) {
    optim::StateList s = good;
    edit(s);
    return s;
  };
  EXPECT_EQ(
      error_of([&] {
        adam.load_state(with([](auto& s) { s[1].second = Tensor::zeros({2, 4}, DType::f64); }));
      }),
      "Adam::load_state: '0.exp_avg' is [2, 4] in the state but parameter 0 is [4, 2]");
  EXPECT_EQ(error_of([&] { adam.load_state(with([](auto& s) { s.erase(s.begin() + 2); })); }),
            "Adam::load_state: missing '0.exp_avg_sq'");
  EXPECT_EQ(
      error_of([&] {
        adam.load_state(with([](auto& s) { s.emplace_back("7.exp_avg", Tensor::zeros({1})); }));
      }),
      "Adam::load_state: unexpected entries '7.exp_avg'");
  EXPECT_EQ(error_of([&] { adam.load_state(with([](auto& s) { s.push_back(s[1]); })); }),
            "Adam::load_state: duplicate entry '0.exp_avg'");
  EXPECT_EQ(error_of([&] { adam.load_state(with([](auto& s) { s.erase(s.begin()); })); }),
            "Adam::load_state: missing 'step'");
  EXPECT_EQ(error_of([&] {
              adam.load_state(with([](auto& s) { s[0].second = Tensor::scalar(-1, DType::i64); }));
            }),
            "Adam::load_state: 'step' must be a non-negative integer, got -1.000000");
  // A failed load changes nothing.
  const auto after = adam.state();
  ASSERT_EQ(after.size(), good.size());
  for (size_t i = 0; i < good.size(); ++i) {
    EXPECT_EQ(after[i].first, good[i].first);
    EXPECT_TRUE(allclose(after[i].second, good[i].second, 0, 0));
  }
  // Loaded tensors are copies: changing the list afterwards does not reach the optimizer.
  optim::StateList copy = good;  // shares the tensors' storage with good
  const Tensor expected = good[1].second.clone();
  adam.load_state(copy);
  copy[1].second.fill_(42);
  EXPECT_TRUE(allclose(adam.state()[1].second, expected, 0, 0));

  optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.5});
  train_step(net, sgd, tape);
  auto s = sgd.state();
  s.pop_back();
  EXPECT_EQ(error_of([&] { sgd.load_state(s); }), "SGD::load_state: missing '3.momentum_buffer'");
  optim::SGD plain(net.parameters(), {.lr = 0.1});
  EXPECT_EQ(error_of([&] { plain.load_state(sgd.state()); }),
            "SGD::load_state: the state has momentum buffers but momentum is 0");
  plain.load_state({});
}

TEST(Optim, OptionsValidated) {
  Parameter p(Tensor::zeros({2}));
  EXPECT_EQ(error_of([&] {
              optim::SGD(std::vector<Parameter*>{&p},
                         {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true});
            }),
            "SGD: nesterov requires momentum > 0 and dampening == 0, got momentum 0.900000, "
            "dampening 0.100000");
  EXPECT_THROW(optim::SGD({&p}, {.lr = 0.1, .nesterov = true}), Error);
  EXPECT_THROW(optim::SGD({&p}, {.lr = -1}), Error);
  EXPECT_THROW(optim::Adam({&p}, {.betas = {0.9, 1.0}}), Error);
  EXPECT_THROW(optim::SGD({&p, &p}, {}), Error);
  EXPECT_THROW(optim::SGD({nullptr}, {}), Error);
}

TEST(Optim, Float32AndFrozenParameters) {
  // p <- p - lr (g + wd p), computed by hand, on a float32 parameter; a frozen one stays put.
  Parameter p(Tensor::of({1, -2}, {2}));
  Parameter frozen(Tensor::of({5}, {1}), /*requires_grad=*/false);
  p.grad = Tensor::of({0.5, 0.25}, {2});
  optim::SGD sgd({&p, &frozen}, {.lr = 0.1, .weight_decay = 0.1});
  sgd.step();
  EXPECT_FLOAT_EQ(p.value.get({0}), static_cast<float>(1 - 0.1 * (0.5 + 0.1)));
  EXPECT_FLOAT_EQ(p.value.get({1}), static_cast<float>(-2 - 0.1 * (0.25 - 0.2)));
  EXPECT_EQ(frozen.value.get({0}), 5);
  EXPECT_EQ(p.value.dtype(), DType::f32);
  // Adam's first step moves every coordinate by lr (m / sqrt(v) = sign(g) after bias correction).
  Parameter q(Tensor::of({1, -2}, {2}));
  q.grad = Tensor::of({3, -0.001}, {2});
  optim::Adam adam({&q}, {.lr = 0.01, .eps = 0});
  adam.step();
  EXPECT_FLOAT_EQ(q.value.get({0}), 0.99f);
  EXPECT_FLOAT_EQ(q.value.get({1}), -1.99f);
}

TEST(Optim, ZeroGradAndInPlaceUpdates) {
  Sequential net = golden_network();
  optim::SGD sgd(net.parameters(), {.lr = 0.1});
  const Tensor w_before = net.parameters()[0]->value;  // shares storage
  Tape tape;
  train_step(net, sgd, tape);
  EXPECT_TRUE(w_before.shares_storage(net.parameters()[0]->value));
  EXPECT_GT(max(abs(net.parameters()[0]->grad)).item(), 0);
  sgd.zero_grad();
  for (Parameter* p : net.parameters()) EXPECT_EQ(max(abs(p->grad)).item(), 0);
}

TEST(StepLR, MultipliesEveryStepSizeEpochs) {
  Parameter p(Tensor::zeros({1}));
  optim::SGD sgd({&p}, {.lr = 1.0});
  optim::StepLR sched(sgd, 2, 0.1);
  std::vector<double> lrs;
  for (int e = 0; e < 6; ++e) {
    lrs.push_back(sched.lr());
    sched.step();
  }
  // PyTorch multiplies the current lr (0.1 * 0.1, not 0.1 ** 2).
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 1.0, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1}));
  EXPECT_EQ(sched.epoch(), 6);
  EXPECT_THROW(optim::StepLR(sgd, 0), Error);
  optim::Adam adam({&p}, {.lr = 0.5});
  optim::StepLR s2(adam, 1, 0.5);
  s2.step();
  EXPECT_EQ(adam.lr(), 0.25);
}

// A step that throws (here: parameter 1's gradient has the wrong shape) changes nothing: no
// parameter, no state buffer, no step count.
TEST(Optim, NewOptimizersStepAllOrNothing) {
  std::vector<std::unique_ptr<optim::Optimizer>> opts;
  Parameter a(Tensor::of({1, 2}, {2}, DType::f64)), b(Tensor::of({3}, {1}, DType::f64));
  std::vector<Parameter*> ps{&a, &b};
  opts.push_back(std::make_unique<optim::AdamW>(ps, optim::AdamWOptions{.lr = 0.1}));
  opts.push_back(std::make_unique<optim::RMSprop>(
      ps, optim::RMSpropOptions{.momentum = 0.5, .centered = true}));
  opts.push_back(std::make_unique<optim::Adagrad>(ps, optim::AdagradOptions{}));
  for (auto& opt : opts) {
    SCOPED_TRACE(opt->state()[0].first + " of optimizer " + std::to_string(&opt - opts.data()));
    a.grad.fill_(0.5);
    b.grad = Tensor::full({1}, 0.25, DType::f64);
    opt->step();
    const optim::StateList state = opt->state();
    const Tensor a_before = a.value.clone(), b_before = b.value.clone();
    b.grad = Tensor::zeros({2}, DType::f64);  // wrong shape
    EXPECT_NE(error_of([&] { opt->step(); }).find("parameter 1 [1] has gradient [2]"),
              std::string::npos);
    EXPECT_TRUE(allclose(a.value, a_before, 0, 0));
    EXPECT_TRUE(allclose(b.value, b_before, 0, 0));
    const optim::StateList after = opt->state();
    ASSERT_EQ(after.size(), state.size());
    for (size_t i = 0; i < state.size(); ++i) {
      EXPECT_EQ(after[i].first, state[i].first);
      EXPECT_TRUE(allclose(after[i].second, state[i].second, 0, 0)) << after[i].first;
    }
  }
}

TEST(Optim, OneCycleNeedsAMomentum) {
  Parameter p(Tensor::zeros({1}));
  optim::Adagrad adagrad({&p}, {});
  EXPECT_FALSE(adagrad.has_momentum());
  EXPECT_EQ(error_of([&] { optim::OneCycleLR(adagrad, 0.1, 10); }),
            "OneCycleLR: cycle_momentum needs an optimizer with a momentum or betas (this one has "
            "neither); pass cycle_momentum = false");
  optim::OneCycleLR ok(adagrad, 0.1, 10, {.cycle_momentum = false});
  EXPECT_NEAR(adagrad.lr(), 0.1 / 25, 1e-15);
  optim::RMSprop rms({&p}, {});
  EXPECT_EQ(error_of([&] { rms.set_momentum(-1); }),
            "RMSprop::set_momentum: momentum must be >= 0, got -1.000000");
}

}  // namespace

// ---- gradient clipping (the PyTorch trajectories above cover the arithmetic) --------------------

TEST(ClipGrad, ScalesOnlyAboveMaxNormAndSkipsFrozen) {
  Parameter a(Tensor::of({3, 0}, {2}));  // float32
  Parameter b(Tensor::of({0}, {1}));
  Parameter frozen(Tensor::of({0}, {1}), /*requires_grad=*/false);
  a.grad = Tensor::of({3, 0}, {2});
  b.grad = Tensor::of({-4}, {1});
  frozen.grad = Tensor::of({100}, {1});  // not part of the norm, not scaled
  EXPECT_DOUBLE_EQ(clip_grad_norm_({&a, &b, &frozen}, 10), 5);
  EXPECT_EQ(a.grad.get({0}), 3);  // under max_norm: unchanged
  EXPECT_NEAR(clip_grad_norm_({&a, &b, &frozen}, 1), 5, 1e-6);
  EXPECT_FLOAT_EQ(a.grad.get({0}), static_cast<float>(3 / (5 + 1e-6)));
  EXPECT_FLOAT_EQ(b.grad.get({0}), static_cast<float>(-4 / (5 + 1e-6)));
  EXPECT_EQ(frozen.grad.get({0}), 100);
  EXPECT_NEAR(clip_grad_norm_({&a, &b}, 1, kInfNorm), 0.8, 1e-6);
  EXPECT_EQ(clip_grad_norm_({}, 1), 0);

  clip_grad_value_({&a, &b, &frozen}, 0.5);
  EXPECT_FLOAT_EQ(a.grad.get({0}), 0.5f);
  EXPECT_FLOAT_EQ(b.grad.get({0}), -0.5f);
  EXPECT_EQ(frozen.grad.get({0}), 100);
}

TEST(ClipGrad, StridedGradientIsWrittenThroughItsView) {
  Parameter p(Tensor::zeros({2, 2}, DType::f64));
  p.grad = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}).t();  // strided view
  const Tensor base = p.grad;
  const uint64_t version = p.grad.version();
  clip_grad_value_({&p}, 2.5);
  EXPECT_TRUE(
      allclose(p.grad, Tensor::from_vector(std::vector<double>{1, 2.5, 2, 2.5}, {2, 2}), 0, 0));
  EXPECT_TRUE(p.grad.shares_storage(base));
  EXPECT_GT(p.grad.version(), version);  // autograd sees the in-place change
}

TEST(ClipGrad, NonFiniteNorm) {
  Parameter a(Tensor::zeros({2}, DType::f64));
  Parameter b(Tensor::zeros({1}, DType::f64));
  a.grad = Tensor::from_vector(std::vector<double>{1, 2}, {2});
  b.grad = Tensor::from_vector(std::vector<double>{std::nan("")}, {1});
  EXPECT_EQ(error_of([&] {
              clip_grad_norm_({&a, &b}, 1, 2, /*error_if_nonfinite=*/true);
            }),
            "clip_grad_norm_: the total norm of order 2 of the gradients is non-finite (nan), so "
            "they cannot be clipped; pass error_if_nonfinite = false to scale anyway");
  EXPECT_EQ(a.grad.get({0}), 1);  // refused: nothing changed
  // Without the flag the NaN spreads to every gradient, as in PyTorch (inf norm included).
  EXPECT_TRUE(std::isnan(clip_grad_norm_({&a, &b}, 1, kInfNorm)));
  EXPECT_TRUE(std::isnan(a.grad.get({1})));
  b.grad.fill_(INFINITY);
  a.grad.fill_(1);
  EXPECT_THROW(clip_grad_norm_({&a, &b}, 1, 1, true), Error);
  EXPECT_TRUE(std::isinf(clip_grad_norm_({&a, &b}, 1, 1)));
  EXPECT_EQ(a.grad.get({0}), 0);  // scaled by max_norm / inf
}

TEST(ClipGrad, BadInputs) {
  Parameter a(Tensor::zeros({2}, DType::f64));
  Parameter b(Tensor::zeros({3}, DType::f64));
  a.grad = Tensor::from_vector(std::vector<double>{3, 4}, {2});
  b.grad = Tensor::zeros({2}, DType::f64);
  EXPECT_EQ(error_of([&] { clip_grad_norm_({&a}, -1); }),
            "clip_grad_norm_: max_norm must be >= 0, got -1");
  EXPECT_EQ(error_of([&] { clip_grad_norm_({&a}, std::nan("")); }),
            "clip_grad_norm_: max_norm must be >= 0, got nan");
  EXPECT_EQ(error_of([&] { clip_grad_norm_({&a}, 1, 0); }),
            "clip_grad_norm_: norm_type must be > 0 (or kInfNorm), got 0");
  EXPECT_EQ(error_of([&] {
              clip_grad_norm_({&a, nullptr}, 1);
            }),
            "clip_grad_norm_: parameter 1 is null");
  EXPECT_EQ(error_of([&] {
              clip_grad_norm_({&a, &b}, 1);
            }),
            "clip_grad_norm_: parameter 1 is [3] float64 but its gradient is [2] float64");
  EXPECT_EQ(error_of([&] { clip_grad_value_({&a}, -0.5); }),
            "clip_grad_value_: clip_value must be >= 0, got -0.5");
  EXPECT_EQ(error_of([&] {
              clip_grad_value_({&a, &b}, 1);
            }),
            "clip_grad_value_: parameter 1 is [3] float64 but its gradient is [2] float64");
  // Every parameter is checked first: a bad later one leaves the earlier gradients alone.
  EXPECT_EQ(a.grad.get({0}), 3);
}

// ---- checkpoints that resume training mid-schedule
// ------------------------------------------------

// An optimizer and its scheduler, built the same way for the uninterrupted and the resumed run.
struct Training {
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<optim::LRScheduler> sched;          // stepped after every batch
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;  // or this one, given the loss

  Training(const std::string& name, std::vector<Parameter*> params) {
    using namespace optim;  // NOLINT(google-build-using-namespace)
    if (name == "sgd_one_cycle") {
      opt = std::make_unique<SGD>(params, SGDOptions{.lr = 0.1, .momentum = 0.9});
      sched = std::make_unique<OneCycleLR>(*opt, 0.8, golden::kSteps);
    } else if (name == "adamw_cosine") {
      opt = std::make_unique<AdamW>(params, AdamWOptions{.lr = 0.05});
      sched = std::make_unique<CosineAnnealingLR>(*opt, 7, 0.001);
    } else if (name == "rmsprop_warmup") {
      opt = std::make_unique<RMSprop>(params, RMSpropOptions{.lr = 0.02, .momentum = 0.5});
      sched = std::make_unique<LinearLR>(*opt, 0.1, 1.0, 15);
    } else if (name == "adam_plateau") {
      opt = std::make_unique<Adam>(params, AdamOptions{.lr = 0.2});
      plateau = std::make_unique<ReduceLROnPlateau>(
          *opt,
          ReduceLROnPlateauOptions{.factor = 0.5, .patience = 0, .threshold = 0.05, .cooldown = 1});
    }
  }
  // One batch and one scheduler step; returns the lr the next batch will use.
  double step(Sequential& net, Tape& tape) {
    const double loss = train_step(net, *opt, tape);
    if (plateau) {
      plateau->step(loss);
    } else {
      sched->step();
    }
    return opt->lr();
  }
  void save(Sequential& net, const std::string& path) {
    if (plateau) {
      nn::save(net, path, *opt, *plateau);
    } else {
      nn::save(net, path, *opt, *sched);
    }
  }
  void load(Sequential& net, const std::string& path) {
    if (plateau) {
      nn::load(net, path, *opt, *plateau);
    } else {
      nn::load(net, path, *opt, *sched);
    }
  }
  optim::StateList sched_state() const { return plateau ? plateau->state() : sched->state(); }
};

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("affine_optim_" + name + "_" + std::to_string(::getpid()) + ".safetensors"))
      .string();
}

std::vector<std::vector<double>> values(Sequential& net) {
  std::vector<std::vector<double>> out;
  for (Parameter* p : net.parameters()) out.push_back(p->value.to_vector<double>());
  return out;
}

// Training stopped halfway, saved with nn::save(net, path, opt, sched), and continued in a fresh
// model, optimizer and scheduler after nn::load gives the uninterrupted run's lrs and parameters
// exactly: the checkpoint holds the whole training state.
TEST(Checkpoint, ResumesTrainingMidSchedule) {
  for (const std::string name :
       {"sgd_one_cycle", "adamw_cosine", "rmsprop_warmup", "adam_plateau"}) {
    SCOPED_TRACE(name);
    Tape tape;
    Sequential straight = golden_network();
    Training a(name, straight.parameters());
    std::vector<double> lrs;
    for (int s = 0; s < golden::kSteps; ++s) lrs.push_back(a.step(straight, tape));

    const std::string path = temp_file(name);
    Sequential first = golden_network();
    Training b(name, first.parameters());
    const int half = golden::kSteps / 2;
    for (int s = 0; s < half; ++s) b.step(first, tape);
    b.save(first, path);

    Sequential resumed = golden_network();
    for (Parameter* p : resumed.parameters()) p->value.fill_(0.25);  // the load must replace it
    Training c(name, resumed.parameters());
    c.load(resumed, path);
    std::filesystem::remove(path);
    EXPECT_EQ(c.opt->lr(), lrs[half - 1]);
    for (int s = half; s < golden::kSteps; ++s) {
      EXPECT_EQ(c.step(resumed, tape), lrs[static_cast<size_t>(s)]) << "lr after step " << s;
    }
    EXPECT_EQ(values(resumed), values(straight));
  }
}

// nn::load(net, path, opt, sched) is all-or-nothing across the three.
TEST(Checkpoint, TrainingStateLoadIsAllOrNothing) {
  Tape tape;
  Sequential net = golden_network();
  Training t("sgd_one_cycle", net.parameters());
  for (int s = 0; s < 3; ++s) t.step(net, tape);
  const std::string path = temp_file("all_or_nothing");

  // A file without scheduler state: the scheduler refuses, nothing changes.
  nn::save(net, path, *t.opt);
  Sequential other = golden_network();
  Training u("sgd_one_cycle", other.parameters());
  u.step(other, tape);
  const auto params_before = values(other);
  const auto buffer_before = u.opt->state()[0].second.clone();
  const double lr_before = u.opt->lr();
  EXPECT_EQ(error_of([&] { u.load(other, path); }), "OneCycleLR::load_state: missing 'last_epoch'");
  EXPECT_EQ(values(other), params_before);
  EXPECT_EQ(u.opt->lr(), lr_before);
  EXPECT_EQ(u.sched->last_epoch(), 1);
  EXPECT_TRUE(allclose(u.opt->state()[0].second, buffer_before, 0, 0));

  // The scheduler accepts its state, then the optimizer refuses its own (momentum buffers for an
  // SGD without momentum): the scheduler, which loaded first, is put back.
  optim::SGD momentum_sgd(net.parameters(), {.lr = 0.1, .momentum = 0.5});
  optim::CosineAnnealingLR cosine(momentum_sgd, 10);
  train_step(net, momentum_sgd, tape);
  cosine.step();
  nn::save(net, path, momentum_sgd, cosine);
  optim::SGD plain(other.parameters(), {.lr = 0.1});
  optim::LinearLR warm(plain, 0.5, 1.0, 4);  // the same state entries as CosineAnnealingLR
  warm.step();
  warm.step();
  const double warm_lr = plain.lr();
  EXPECT_EQ(error_of([&] { nn::load(other, path, plain, warm); }),
            "SGD::load_state: the state has momentum buffers but momentum is 0");
  EXPECT_EQ(plain.lr(), warm_lr);
  EXPECT_EQ(warm.last_epoch(), 2);
  EXPECT_EQ(warm.base_lr(), 0.1);
  EXPECT_EQ(values(other), params_before);
  std::filesystem::remove(path);
}
