// DataParallel, DistributedSampler and distributed checkpoints, run with 2 and 4 ranks.
//
// The reference for every equivalence test is computed in the same process: each rank also trains
// the same model alone on the whole global batch, then compares. N ranks with batch B / N each
// must follow one process with batch B (the averaged gradient of per-shard means is the gradient
// of the global mean) up to rounding: 1e-12 in float64, 1e-6 in float32, after 100 steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "affine/dist/dist.hpp"
#include "mpi_world.hpp"
#include "test_util.hpp"

using namespace affine;
using affine::test::error_of;

namespace {

constexpr int64_t kGlobalBatch = 32;  // divisible by 1, 2 and 4 ranks
constexpr int kSteps = 100;

// The seed network 2-100-2-1 (tanh, tanh, sigmoid), the same weights on every rank unless
// init_seed differs.
std::unique_ptr<nn::Sequential> seed_net(DType dtype, uint64_t init_seed = 7) {
  Generator gen(init_seed);
  auto net = std::make_unique<nn::Sequential>();
  net->push_back(nn::Linear(2, 100, gen, true, dtype));
  net->push_back(nn::Tanh());
  net->push_back(nn::Linear(100, 2, gen, true, dtype));
  net->push_back(nn::Tanh());
  net->push_back(nn::Linear(2, 1, gen, true, dtype));
  net->push_back(nn::Sigmoid());
  return net;
}

std::unique_ptr<nn::optim::Optimizer> make_opt(const std::string& kind, nn::Module& m) {
  if (kind == "sgd") {
    return std::make_unique<nn::optim::SGD>(m.parameters(),
                                            nn::optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  }
  return std::make_unique<nn::optim::Adam>(m.parameters(), nn::optim::AdamOptions{.lr = 0.01});
}

struct Data {
  Tensor x, y;
};
Data moons(DType dtype) {
  auto d = nn::data::make_moons(200, 0.1, 3);
  return {d.x.to(dtype), d.y.to(dtype)};
}

// One training step on rows of data; model may be a DataParallel or a plain module.
void step(nn::Module& model, nn::optim::Optimizer& opt, Tape& tape, const Data& d,
          const std::vector<int64_t>& rows) {
  tape.clear();
  opt.zero_grad();
  const Var p = model(tape.leaf(nn::data::take_rows(d.x, rows), false));
  binary_cross_entropy(p, Var(nn::data::take_rows(d.y, rows))).backward();
  opt.step();
}

// Trains for kSteps over epochs of the sampler's permutation with `replicas` shards (1: the
// single-process reference with the whole global batch) and returns the final parameters.
std::vector<Tensor> train(DType dtype, const std::string& opt_kind, bool distributed,
                          dist::DataParallelOptions options = {}) {
  const auto& w = world();
  const Data d = moons(dtype);
  auto net = seed_net(dtype);
  std::unique_ptr<dist::DataParallel> ddp;
  if (distributed) ddp = std::make_unique<dist::DataParallel>(w, *net, options);
  nn::Module& model = ddp ? static_cast<nn::Module&>(*ddp) : *net;
  auto opt = make_opt(opt_kind, *net);
  const int replicas = distributed ? w.size() : 1;
  const int rank = distributed ? w.rank() : 0;
  dist::DistributedSampler sampler(d.x.size(0), replicas, rank, {.seed = 11, .drop_last = true});
  const int64_t local = kGlobalBatch / replicas;
  Tape tape;
  int done = 0;
  for (int64_t epoch = 0; done < kSteps; ++epoch) {
    sampler.set_epoch(epoch);
    const auto rows = sampler.indices();
    for (int64_t b = 0; b + local <= static_cast<int64_t>(rows.size()) && done < kSteps;
         b += local, ++done) {
      step(model, *opt, tape, d, {rows.begin() + b, rows.begin() + b + local});
    }
  }
  std::vector<Tensor> out;
  for (Parameter* p : net->parameters()) out.push_back(p->value.clone());
  return out;
}

double max_abs_diff(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto va = a[i].to_vector<double>();
    const auto vb = b[i].to_vector<double>();
    for (size_t j = 0; j < va.size(); ++j) m = std::max(m, std::abs(va[j] - vb[j]));
  }
  return m;
}

bool same_on_every_rank(const std::vector<Tensor>& params) {
  for (const Tensor& p : params) {
    const Tensor all = dist::all_gather(world(), p);
    for (int r = 1; r < world().size(); ++r) {
      if (all[r].to_vector<double>() != all[0].to_vector<double>()) return false;
    }
  }
  return true;
}

struct Case {
  DType dtype;
  const char* opt;
  double tol;
};

class Equivalence : public testing::TestWithParam<Case> {};

TEST_P(Equivalence, NRanksWithGlobalBatchBMatchOneProcessWithBatchB) {
  const Case c = GetParam();
  const auto reference = train(c.dtype, c.opt, false);
  const auto ddp = train(c.dtype, c.opt, true);
  const double diff = max_abs_diff(reference, ddp);
  EXPECT_LE(diff, c.tol) << world().size() << " ranks, " << dtype_name(c.dtype) << " " << c.opt;
  // The run really trained (a test that cannot fail would also pass with no steps at all).
  EXPECT_GT(max_abs_diff(reference,
                         [&] {
                           std::vector<Tensor> init;
                           const auto fresh = seed_net(c.dtype);
                           for (Parameter* p : fresh->parameters()) init.push_back(p->value);
                           return init;
                         }()),
            1e-2);
  EXPECT_TRUE(same_on_every_rank(ddp));
  // Deterministic run to run: bit for bit.
  EXPECT_EQ(max_abs_diff(ddp, train(c.dtype, c.opt, true)), 0.0);
}

// float32 Adam: the update m / (sqrt(v) + eps) is of size lr even for a near-zero gradient, so
// the float32 roundings by which the shards' sums differ from the whole batch's move such a
// parameter by up to lr times their relative size. Measured with 2 ranks: 3.6e-7 when the
// layers were recorded one by one, 1.6e-6 with Linear, Tanh, Linear as one op (the same
// operations, rounded at other points); float64 stays within 1e-12 either way.
INSTANTIATE_TEST_SUITE_P(
    DataParallel, Equivalence,
    testing::Values(Case{DType::f64, "sgd", 1e-12}, Case{DType::f64, "adam", 1e-12},
                    Case{DType::f32, "sgd", 1e-6}, Case{DType::f32, "adam", 5e-6}),
    [](const testing::TestParamInfo<Case>& p) {
      return std::string(p.param.dtype == DType::f64 ? "f64_" : "f32_") + p.param.opt;
    });

TEST(DataParallel, SmallBucketsGiveTheSameResult) {
  // 512-byte buckets split the seed net's 603 gradients into many allreduces started during
  // backward; the result must not depend on the bucketing.
  dist::DataParallelOptions small{.bucket_bytes = 512, .first_bucket_bytes = 64};
  const auto many = train(DType::f64, "sgd", true, small);
  const auto one =
      train(DType::f64, "sgd", true, {.bucket_bytes = 1 << 20, .first_bucket_bytes = 1 << 20});
  EXPECT_LE(max_abs_diff(many, one), 1e-13);
  auto net = seed_net(DType::f64);
  dist::DataParallel ddp(world(), *net, small);
  EXPECT_EQ(ddp.bucket_count(), 4u);  // [4.bias 4.weight 2.bias] [2.weight] [0.bias] [0.weight]
  dist::DataParallel single(world(), *net);
  EXPECT_EQ(single.bucket_count(), 1u);
}

TEST(DataParallel, SharedMemoryMeanEqualsTheAllreduce) {
  // Under mpirun on one machine the default averages the gradients in shared memory (the
  // Equivalence tests run that path); MPI's allreduce must give the same parameters: bit for bit
  // on 2 ranks ((a + b) / 2 either way), to rounding on more (MPI may add in another order).
  auto net = seed_net(DType::f64);
  const dist::DataParallel shared(world(), *net);
  EXPECT_TRUE(shared.uses_shared_memory());
  const dist::DataParallel mpi(world(), *net, {.shared_memory = false});
  EXPECT_FALSE(mpi.uses_shared_memory());
  for (const DType dtype : {DType::f64, DType::f32}) {
    const auto a = train(dtype, "adam", true);
    const auto b = train(dtype, "adam", true, {.shared_memory = false});
    if (world().size() == 2) {
      EXPECT_EQ(max_abs_diff(a, b), 0.0) << dtype_name(dtype);
    } else {
      // float32 Adam: the bound of the Equivalence cases, for the reason given there (MPI's
      // order of the 4 ranks' sums measured 1.1e-6 once tanh's rounding moved).
      EXPECT_LE(max_abs_diff(a, b), dtype == DType::f64 ? 1e-12 : 5e-6) << dtype_name(dtype);
    }
    EXPECT_TRUE(same_on_every_rank(a));
  }
}

TEST(DataParallel, GradientsStayValidAfterTheDataParallelIsGone) {
  // With shared memory the gradients live in a mapping shared by the ranks; a parameter's .grad
  // must outlive the DataParallel that put it there (reading it after an unmap would crash) and
  // keep the averaged values, the same on every rank.
  const Data d = moons(DType::f64);
  auto net = seed_net(DType::f64);
  const int64_t r = world().rank();
  std::vector<Tensor> grads;
  {
    dist::DataParallel ddp(world(), *net);
    nn::optim::SGD opt(net->parameters(), {.lr = 0.1});
    Tape tape;
    step(ddp, opt, tape, d, {3 * r, 3 * r + 1, 3 * r + 2});
    for (Parameter* p : net->parameters()) grads.push_back(p->grad.clone());
  }
  std::vector<Tensor> after;
  for (Parameter* p : net->parameters()) after.push_back(p->grad);
  EXPECT_EQ(max_abs_diff(after, grads), 0.0);
  EXPECT_TRUE(same_on_every_rank(after));
  // A new DataParallel takes the gradients over: accumulated locally, then averaged again.
  dist::DataParallel again(world(), *net);
  Tape tape;
  binary_cross_entropy(again(tape.leaf(nn::data::take_rows(d.x, {r}), false)),
                       Var(nn::data::take_rows(d.y, {r})))
      .backward();
  std::vector<Tensor> next;
  for (Parameter* p : net->parameters()) next.push_back(p->grad);
  EXPECT_TRUE(same_on_every_rank(next));
  EXPECT_GT(max_abs_diff(next, grads), 0.0);
  EXPECT_EQ(max_abs_diff(after, grads), 0.0);  // the old buffers are still mapped, unchanged
}

TEST(DataParallel, DifferentOptionsOnDifferentRanksAreAnError) {
  // Different buckets or averaging paths would pair unrelated collectives across ranks.
  const auto& w = world();
  auto net = seed_net(DType::f32);
  const size_t bytes = w.rank() == 1 ? 4096 : 512;
  std::string msg = error_of([&] { dist::DataParallel ddp(w, *net, {.bucket_bytes = bytes}); });
  EXPECT_NE(msg.find("DataParallel: the ranks' options differ: bucket_bytes is 4096 on rank 1 "
                     "but 512 on rank 0"),
            std::string::npos)
      << msg;
  msg = error_of([&] { dist::DataParallel ddp(w, *net, {.shared_memory = w.rank() != 1}); });
  EXPECT_NE(msg.find("shared_memory is 0 on rank 1 but 1 on rank 0"), std::string::npos) << msg;
  // Every rank threw (the check is collective), and the next DataParallel works.
  dist::DataParallel ok(w, *net);
  EXPECT_EQ(ok.bucket_count(), 1u);
}

TEST(DataParallel, BroadcastsRankZerosWeightsAtConstruction) {
  auto net = seed_net(DType::f32, /*init_seed=*/100 + static_cast<uint64_t>(world().rank()));
  const auto rank0 = seed_net(DType::f32, 100);
  dist::DataParallel ddp(world(), *net);
  const auto mine = net->parameters();
  const auto want = rank0->parameters();
  for (size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i]->value.to_vector<float>(), want[i]->value.to_vector<float>());
  }
  EXPECT_EQ(ddp.named_parameters()[0].first, "module.0.weight");
}

TEST(DataParallel, DifferentModelsOnDifferentRanksAreAnError) {
  const auto& w = world();
  Generator gen(1);
  nn::Sequential net;
  net.push_back(nn::Linear(2, w.rank() == 1 ? 4 : 3, gen));
  const std::string msg = error_of([&] { dist::DataParallel ddp(w, net); });
  EXPECT_NE(msg.find("DataParallel: the ranks' models differ: state entry 0 is '0.weight' float32 "
                     "[4, 2] on rank 1 but '0.weight' float32 [3, 2] on rank 0"),
            std::string::npos)
      << msg;
  nn::Sequential other;
  other.push_back(nn::Linear(2, 3, gen, true, w.rank() == 1 ? DType::f64 : DType::f32));
  EXPECT_NE(error_of([&] {
              dist::DataParallel ddp(w, other);
            }).find("'0.weight' float64 [3, 2] on rank 1"),
            std::string::npos);
}

// Gradient accumulation: k micro-batches with the loss divided by k, the first k - 1 inside
// no_sync, equal one step on the k-times-larger global batch.
TEST(DataParallel, NoSyncAccumulationEqualsOneLargeBatch) {
  const auto& w = world();
  const Data d = moons(DType::f64);
  constexpr int kMicro = 3;
  auto net = seed_net(DType::f64);
  dist::DataParallel ddp(w, *net);
  auto ref = seed_net(DType::f64);
  dist::DistributedSampler all(d.x.size(0), 1, 0, {.seed = 5});
  dist::DistributedSampler mine(d.x.size(0), w, {.seed = 5});
  const auto global = all.indices();
  const auto shard = mine.indices();
  const int64_t local = kGlobalBatch / w.size();

  Tape tape;
  net->zero_grad();
  for (int m = 0; m < kMicro; ++m) {
    tape.clear();
    const std::vector<int64_t> rows(shard.begin() + m * local, shard.begin() + (m + 1) * local);
    auto loss = [&] {
      const Var p = ddp(tape.leaf(nn::data::take_rows(d.x, rows), false));
      return mul(binary_cross_entropy(p, Var(nn::data::take_rows(d.y, rows))), 1.0 / kMicro);
    };
    if (m + 1 < kMicro) {
      auto guard = ddp.no_sync();
      loss().backward();
    } else {
      loss().backward();
    }
  }
  tape.clear();
  ref->zero_grad();
  const std::vector<int64_t> rows(global.begin(), global.begin() + kMicro * kGlobalBatch);
  binary_cross_entropy((*ref)(tape.leaf(nn::data::take_rows(d.x, rows), false)),
                       Var(nn::data::take_rows(d.y, rows)))
      .backward();
  std::vector<Tensor> got, want;
  for (Parameter* p : net->parameters()) got.push_back(p->grad);
  for (Parameter* p : ref->parameters()) want.push_back(p->grad);
  EXPECT_LE(max_abs_diff(got, want), 1e-12);
  EXPECT_GT(std::abs(want[0].get({0, 0})), 0.0);  // a real gradient, not zeros on both sides
}

TEST(DistributedSampler, ShardsAreDisjointAndPaddedOrDroppedAsPyTorch) {
  // n = 10 over 3 ranks: padded to 12 (ceil) with the permutation's first 2 entries, or cut to 9.
  for (bool drop_last : {false, true}) {
    std::multiset<int64_t> seen;
    std::vector<int64_t> perm = dist::DistributedSampler(10, 1, 0, {.seed = 4}).indices();
    for (int r = 0; r < 3; ++r) {
      dist::DistributedSampler s(10, 3, r, {.seed = 4, .drop_last = drop_last});
      const auto idx = s.indices();
      EXPECT_EQ(static_cast<int64_t>(idx.size()), drop_last ? 3 : 4);
      for (size_t j = 0; j < idx.size(); ++j) {
        const size_t pos = static_cast<size_t>(r) + 3 * j;  // rank r takes r, r + R, ...
        EXPECT_EQ(idx[j], pos < 10 ? perm[pos] : perm[pos - 10]);
      }
      seen.insert(idx.begin(), idx.end());
    }
    EXPECT_EQ(seen.size(), drop_last ? 9u : 12u);
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), drop_last ? 9u : 10u);
  }
  // Padding longer than the data set repeats it: n = 2 over 5 ranks.
  std::vector<int64_t> all;
  for (int r = 0; r < 5; ++r) {
    const auto idx = dist::DistributedSampler(2, 5, r, {.shuffle = false}).indices();
    all.insert(all.end(), idx.begin(), idx.end());
  }
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 0, 1, 0}));
}

TEST(DistributedSampler, SamePermutationOnEveryRankNewOneEachEpoch) {
  const auto& w = world();
  dist::DistributedSampler s(50, w, {.seed = 9});
  s.set_epoch(3);
  const auto e3 = s.indices();
  const Tensor shards = dist::all_gather(w, Tensor::from_vector(e3));
  std::set<int64_t> uni;
  for (int r = 0; r < w.size(); ++r) {
    const auto v = shards[r].to_vector<int64_t>();
    dist::DistributedSampler other(50, w.size(), r, {.seed = 9});
    other.set_epoch(3);
    EXPECT_EQ(v, other.indices());
    uni.insert(v.begin(), v.end());
  }
  EXPECT_EQ(uni.size(), 50u);
  s.set_epoch(4);
  EXPECT_NE(s.indices(), e3);
  EXPECT_NE(error_of([] { dist::DistributedSampler(5, 2, 2); }).find("rank 2 is not in [0, 2)"),
            std::string::npos);
}

TEST(DistributedCheckpoint, RankZeroWritesAndEveryRankLoadsItsContents) {
  const auto& w = world();
  const std::string path =
      (std::filesystem::temp_directory_path() / ("affine_dist_ckpt_" + std::to_string(::getpid())))
          .string();
  // Each rank's pid differs, so agree on rank 0's path.
  std::string shared = path;
  dist::broadcast(w, shared, 0);
  auto net = seed_net(DType::f32);
  dist::DataParallel ddp(w, *net);
  nn::optim::Adam opt(net->parameters(), {.lr = 0.01});
  Tape tape;
  const Data d = moons(DType::f32);
  dist::DistributedSampler s(d.x.size(0), w);
  const auto rows = s.indices();
  step(ddp, opt, tape, d, {rows.begin(), rows.begin() + 8});
  dist::save(w, *net, shared, opt);
  EXPECT_TRUE(std::filesystem::exists(shared));  // every rank returns after the file is in place

  auto fresh = seed_net(DType::f32, 1000 + static_cast<uint64_t>(w.rank()));
  nn::optim::Adam fresh_opt(fresh->parameters(), {.lr = 0.01});
  dist::load(w, *fresh, shared, &fresh_opt);
  for (size_t i = 0; i < net->parameters().size(); ++i) {
    EXPECT_EQ(fresh->parameters()[i]->value.to_vector<float>(),
              net->parameters()[i]->value.to_vector<float>());
  }
  EXPECT_EQ(fresh_opt.step_count(), 1);
  w.barrier();
  if (w.rank() == 0) std::filesystem::remove(shared);
  const std::string msg = error_of([&] { dist::load(w, *fresh, shared + ".missing"); });
  EXPECT_NE(msg.find("dist::load: on rank 0:"), std::string::npos) << msg;
}

}  // namespace

namespace {

TEST(DistributedCheckpoint, SchedulerStateResumesTheScheduleOnEveryRank) {
  const auto& w = world();
  std::string path =
      (std::filesystem::temp_directory_path() / ("affine_dist_sched_" + std::to_string(::getpid())))
          .string();
  dist::broadcast(w, path, 0);
  auto net = seed_net(DType::f64);
  dist::DataParallel ddp(w, *net);
  nn::optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::optim::CosineAnnealingLR sched(opt, /*t_max=*/10);
  Tape tape;
  const Data d = moons(DType::f64);
  dist::DistributedSampler s(d.x.size(0), w);
  const auto rows = s.indices();
  for (int epoch = 0; epoch < 3; ++epoch) {
    step(ddp, opt, tape, d, {rows.begin(), rows.begin() + 8});
    sched.step();
  }
  dist::save(w, *net, path, opt, sched);

  // Every rank starts from different weights and a fresh schedule; the load gives each rank
  // rank 0's weights, momentum buffers, epoch count and lr.
  auto fresh = seed_net(DType::f64, 2000 + static_cast<uint64_t>(w.rank()));
  nn::optim::SGD fresh_opt(fresh->parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::optim::CosineAnnealingLR fresh_sched(fresh_opt, /*t_max=*/10);
  dist::load(w, *fresh, path, fresh_opt, fresh_sched);
  EXPECT_EQ(fresh_sched.last_epoch(), 3);
  EXPECT_EQ(fresh_opt.lr(), opt.lr());
  for (size_t i = 0; i < net->parameters().size(); ++i) {
    EXPECT_EQ(fresh->parameters()[i]->value.to_vector<double>(),
              net->parameters()[i]->value.to_vector<double>());
  }
  // The next step and schedule step agree bit for bit with the run that was not interrupted.
  dist::DataParallel fresh_ddp(w, *fresh);
  step(ddp, opt, tape, d, {rows.begin() + 8, rows.begin() + 16});
  sched.step();
  step(fresh_ddp, fresh_opt, tape, d, {rows.begin() + 8, rows.begin() + 16});
  fresh_sched.step();
  EXPECT_EQ(fresh_opt.lr(), opt.lr());
  for (size_t i = 0; i < net->parameters().size(); ++i) {
    EXPECT_EQ(fresh->parameters()[i]->value.to_vector<double>(),
              net->parameters()[i]->value.to_vector<double>());
  }

  // A file without a scheduler's state: refused on rank 0, reported everywhere, nothing changed.
  w.barrier();
  dist::save(w, *net, path, opt);
  const int64_t epoch_before = fresh_sched.last_epoch();
  const std::string msg = error_of([&] { dist::load(w, *fresh, path, fresh_opt, fresh_sched); });
  EXPECT_NE(msg.find("dist::load: on rank 0:"), std::string::npos) << msg;
  EXPECT_EQ(fresh_sched.last_epoch(), epoch_before);
  w.barrier();
  if (w.rank() == 0) std::filesystem::remove(path);
}

}  // namespace
