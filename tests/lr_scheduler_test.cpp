// Learning-rate schedulers against PyTorch: data/optim_golden.hpp holds the lr (and momentum) that
// torch.optim.lr_scheduler gave after construction and after each step, for the same options.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"
#include "data/optim_golden.hpp"
#include "test_util.hpp"

namespace {

using namespace affine;      // NOLINT(google-build-using-namespace)
using namespace affine::nn;  // NOLINT(google-build-using-namespace)
namespace golden = optim_golden;
using affine::test::error_of;

// The optimizer and scheduler of each schedule; they mirror SCHEDULES in make_optim_golden.py.
struct ScheduleRun {
  Parameter p{Tensor::zeros({1}, DType::f64)};
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<optim::LRScheduler> sched;          // the epoch-driven ones
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;  // or this one

  explicit ScheduleRun(const std::string& name) {
    using namespace optim;  // NOLINT(google-build-using-namespace)
    const bool adam = name == "one_cycle_adam_linear_three_phase" || name == "plateau_max_abs";
    if (adam) {
      opt = std::make_unique<Adam>(std::vector<Parameter*>{&p}, AdamOptions{.lr = 0.1});
    } else {
      opt = std::make_unique<SGD>(
          std::vector<Parameter*>{&p},
          SGDOptions{.lr = 0.1, .momentum = name == "one_cycle_sgd" ? 0.9 : 0});
    }
    if (name == "step") sched = std::make_unique<StepLR>(*opt, 4, 0.5);
    if (name == "cosine") sched = std::make_unique<CosineAnnealingLR>(*opt, 10, 0.001);
    if (name == "linear_warmup") sched = std::make_unique<LinearLR>(*opt, 0.25, 1.0, 8);
    if (name == "one_cycle_sgd")
      sched = std::make_unique<OneCycleLR>(*opt, 0.5, golden::kScheduleSteps + 1);
    if (name == "one_cycle_adam_linear_three_phase") {
      sched = std::make_unique<OneCycleLR>(*opt, 0.01, golden::kScheduleSteps + 1,
                                           OneCycleOptions{.pct_start = 0.25,
                                                           .anneal_cos = false,
                                                           .div_factor = 10,
                                                           .final_div_factor = 100,
                                                           .three_phase = true});
    }
    if (name == "plateau_min") {
      plateau = std::make_unique<ReduceLROnPlateau>(
          *opt,
          ReduceLROnPlateauOptions{
              .factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = 0.01});
    }
    if (name == "plateau_max_abs") {
      plateau = std::make_unique<ReduceLROnPlateau>(
          *opt, ReduceLROnPlateauOptions{.mode_max = true,
                                         .factor = 0.3,
                                         .patience = 1,
                                         .threshold = 0.05,
                                         .threshold_abs = true});
    }
    if (!sched && !plateau) throw std::logic_error("unknown schedule " + name);
  }
  void step(const golden::Schedule& s, size_t i) {
    if (plateau) {
      plateau->step(s.metrics[i]);
    } else {
      sched->step();
    }
  }
  optim::StateList state() const { return plateau ? plateau->state() : sched->state(); }
  void load_state(const optim::StateList& st) {
    if (plateau) {
      plateau->load_state(st);
    } else {
      sched->load_state(st);
    }
  }
};

void expect_near_rel(double got, double want, const std::string& what) {
  EXPECT_LE(std::abs(got - want), 1e-12 * std::abs(want) + 1e-15)
      << what << ": " << got << ", PyTorch has " << want;
}

void expect_point(ScheduleRun& s, const golden::Schedule& g, size_t i) {
  expect_near_rel(s.opt->lr(), g.lrs[i], "lr " + std::to_string(i));
  expect_near_rel(s.opt->momentum(), g.momenta[i], "momentum " + std::to_string(i));
}

TEST(LRScheduler, ReproducesPyTorchSchedules) {
  ASSERT_EQ(golden::kSchedules.size(), 7U);
  for (const auto& g : golden::kSchedules) {
    SCOPED_TRACE(g.name);
    ScheduleRun s(g.name);
    expect_point(s, g, 0);
    for (size_t i = 0; i < static_cast<size_t>(golden::kScheduleSteps); ++i) {
      s.step(g, i);
      expect_point(s, g, i + 1);
    }
  }
}

// Stopping halfway, saving the scheduler's state and resuming in a new optimizer + scheduler
// (built with the original options) continues the same schedule.
TEST(LRScheduler, StateRoundTripResumesTheSchedule) {
  for (const auto& g : golden::kSchedules) {
    SCOPED_TRACE(g.name);
    ScheduleRun first(g.name);
    const size_t half = golden::kScheduleSteps / 2;
    for (size_t i = 0; i < half; ++i) first.step(g, i);
    const optim::StateList saved = first.state();
    ScheduleRun resumed(g.name);
    resumed.load_state(saved);
    expect_point(resumed, g, half);
    for (size_t i = half; i < static_cast<size_t>(golden::kScheduleSteps); ++i) {
      resumed.step(g, i);
      expect_point(resumed, g, i + 1);
    }
  }
}

TEST(LRScheduler, StateNamesAndValidation) {
  ScheduleRun s("one_cycle_sgd");
  s.sched->step();
  const auto st = s.sched->state();
  ASSERT_EQ(st.size(), 4U);
  EXPECT_EQ(st[0].first, "last_epoch");
  EXPECT_EQ(st[0].second.dtype(), DType::i64);
  EXPECT_EQ(st[0].second.item(), 1);
  EXPECT_EQ(st[1].first, "base_lr");
  EXPECT_EQ(st[2].first, "last_lr");
  EXPECT_EQ(st[3].first, "last_momentum");
  auto with = [&](auto edit) {
    optim::StateList copy = st;
    edit(copy);
    return copy;
  };
  EXPECT_EQ(error_of([&] { s.sched->load_state(with([](auto& l) { l.pop_back(); })); }),
            "OneCycleLR::load_state: missing 'last_momentum'");
  EXPECT_EQ(error_of([&] {
              s.sched->load_state(with([](auto& l) { l[0].second = Tensor::scalar(1.5); }));
            }),
            "OneCycleLR::load_state: 'last_epoch' must be int64, got float32");
  EXPECT_EQ(error_of([&] {
              s.sched->load_state(with([](auto& l) { l.emplace_back("x", Tensor::scalar(1)); }));
            }),
            "OneCycleLR::load_state: unexpected entries 'x'");
  EXPECT_EQ(
      error_of([&] {
        s.sched->load_state(with([](auto& l) { l[2].second = Tensor::scalar(-1, DType::f64); }));
      }),
      "OneCycleLR::load_state: lr must be finite and >= 0, got -1.000000");
  // Refused loads change nothing.
  EXPECT_EQ(s.sched->last_epoch(), 1);
  expect_near_rel(s.opt->lr(), st[2].second.item(), "lr after refused loads");

  ScheduleRun p("plateau_min");
  p.plateau->step(1.0);
  EXPECT_EQ(error_of([&] { p.plateau->load_state({}); }),
            "ReduceLROnPlateau::load_state: missing 'last_epoch'");
  EXPECT_EQ(p.plateau->best(), 1.0);
}

TEST(LRScheduler, BadOptionsAndSteppingPastTheEnd) {
  Parameter p(Tensor::zeros({1}));
  optim::SGD sgd({&p}, {.lr = 0.1});
  EXPECT_EQ(error_of([&] { optim::StepLR(sgd, 0); }), "StepLR: step_size must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { optim::CosineAnnealingLR(sgd, 0); }),
            "CosineAnnealingLR: t_max must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { optim::LinearLR(sgd, 0.0); }),
            "LinearLR: start_factor must lie in (0, 1], got 0.000000");
  EXPECT_EQ(error_of([&] { optim::OneCycleLR(sgd, 1.0, 10, {.pct_start = 1.5}); }),
            "OneCycleLR: pct_start must lie in [0, 1], got 1.500000");
  EXPECT_EQ(error_of([&] { optim::ReduceLROnPlateau(sgd, {.factor = 1.0}); }),
            "ReduceLROnPlateau: factor must lie in [0, 1), got 1.000000");
  EXPECT_DOUBLE_EQ(sgd.lr(), 0.1);  // refused schedulers left the optimizer alone

  optim::OneCycleLR one(sgd, 1.0, 3);
  for (int i = 0; i < 3; ++i) one.step();
  const double lr = sgd.lr();
  EXPECT_EQ(error_of([&] { one.step(); }), "OneCycleLR: tried to step 4 times; total_steps is 3");
  EXPECT_EQ(one.last_epoch(), 3);
  EXPECT_EQ(sgd.lr(), lr);
}

}  // namespace
