// DistributedSampler: PyTorch's sharding rule over affine's permutations.
#include "affine/dist/sampler.hpp"

#include <numeric>
#include <string>

#include "affine/nn/data.hpp"
#include "affine/tensor/error.hpp"
#include "affine/tensor/random.hpp"

namespace affine::dist {

DistributedSampler::DistributedSampler(int64_t dataset_size, int num_replicas, int rank,
                                       SamplerOptions options)
    : size_(dataset_size), replicas_(num_replicas), rank_(rank), options_(options) {
  if (dataset_size < 0) {
    throw Error("DistributedSampler: dataset_size must be >= 0, got " +
                std::to_string(dataset_size));
  }
  if (num_replicas < 1 || rank < 0 || rank >= num_replicas) {
    throw Error("DistributedSampler: rank " + std::to_string(rank) + " is not in [0, " +
                std::to_string(num_replicas) + ")");
  }
  // torch: drop_last -> ceil((n - R) / R) = floor(n / R); else ceil(n / R).
  num_samples_ = options.drop_last ? size_ / replicas_ : (size_ + replicas_ - 1) / replicas_;
}

DistributedSampler::DistributedSampler(int64_t dataset_size, const World& world,
                                       SamplerOptions options)
    : DistributedSampler(dataset_size, world.size(), world.rank(), options) {}

std::vector<int64_t> DistributedSampler::indices() const {
  std::vector<int64_t> order;
  if (options_.shuffle) {
    Generator gen(options_.seed + static_cast<uint64_t>(epoch_));
    order = nn::data::randperm(size_, gen);
  } else {
    order.resize(static_cast<size_t>(size_));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const int64_t total = total_size();
  // Pad with the permutation's head (repeated if the padding is longer than n), or cut the tail.
  for (int64_t i = size_; i < total; ++i) order.push_back(order[static_cast<size_t>(i - size_)]);
  order.resize(static_cast<size_t>(total));
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(num_samples_));
  for (int64_t i = rank_; i < total; i += replicas_) mine.push_back(order[static_cast<size_t>(i)]);
  return mine;
}

}  // namespace affine::dist
