// The mean across ranks through a shared-memory window (see shared_mean.hpp for the scheme).
#include "shared_mean.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "affine/tensor/error.hpp"
#include "comm.hpp"

namespace affine::dist::detail {

namespace {

constexpr size_t kAlign = 64;          // each buffer starts on a cache line of its segment
constexpr int64_t kChunkBytes = 8192;  // a slice is summed in chunks that stay in L1

// Elements [lo, hi) of one buffer: the sum of from[0..N) in rank order (the same sum on every
// rank), divided by N as the allreduce path does, written to every to[r].
template <class T>
void mean_range(const std::vector<const char*>& from, const std::vector<char*>& to, int64_t lo,
                int64_t hi) {
  constexpr int64_t kChunk = kChunkBytes / static_cast<int64_t>(sizeof(T));
  const auto n = static_cast<T>(from.size());
  T sum[kChunk];
  for (int64_t c = lo; c < hi; c += kChunk) {
    const int64_t len = std::min(kChunk, hi - c);
    const T* first = reinterpret_cast<const T*>(from[0]) + c;
    std::copy(first, first + len, sum);
    for (size_t r = 1; r < from.size(); ++r) {
      const T* p = reinterpret_cast<const T*>(from[r]) + c;
      for (int64_t i = 0; i < len; ++i) sum[i] += p[i];
    }
    for (int64_t i = 0; i < len; ++i) sum[i] /= n;
    for (char* dst : to) {
      std::memcpy(reinterpret_cast<T*>(dst) + c, sum, static_cast<size_t>(len) * sizeof(T));
    }
  }
}

}  // namespace

std::unique_ptr<SharedMean> SharedMean::create(const World& world,
                                               const std::vector<Tensor>& buffers, const char* op) {
  if (world.size() < 2) return nullptr;
  for (const Tensor& b : buffers) {
    // The same answer on every rank: the buffers' dtypes are the same everywhere.
    if (b.dtype() != DType::f32 && b.dtype() != DType::f64) return nullptr;
  }
  std::unique_ptr<SharedMean> s(new SharedMean(world, op));
  check(world,
        MPI_Comm_split_type(world.impl().comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &s->node_),
        op);
  int node_size = 0;
  check(world, MPI_Comm_size(s->node_, &node_size), op);
  // Every rank sees the same answer: all ranks are on this machine only if this machine's
  // communicator holds all of them.
  if (node_size != world.size()) return nullptr;  // the destructor frees node_
  MPI_Comm_set_errhandler(s->node_, MPI_ERRORS_RETURN);
  size_t bytes = 0;
  for (const Tensor& b : buffers) {
    s->offsets_.push_back(bytes);
    s->numels_.push_back(b.numel());
    s->dtypes_.push_back(b.dtype());
    bytes +=
        (static_cast<size_t>(b.numel()) * dtype_size(b.dtype()) + kAlign - 1) / kAlign * kAlign;
  }
  char* mine = nullptr;
  check(world,
        MPI_Win_allocate_shared(static_cast<MPI_Aint>(std::max<size_t>(bytes, kAlign)), 1,
                                MPI_INFO_NULL, s->node_, &mine, &s->win_),
        op);
  for (int r = 0; r < node_size; ++r) {
    MPI_Aint size = 0;
    int unit = 0;
    char* base = nullptr;
    check(world, MPI_Win_shared_query(s->win_, r, &size, &unit, &base), op);
    s->segments_.push_back(base);
  }
  // One passive-target epoch for the window's life: loads and stores go straight to memory,
  // ordered by MPI_Win_sync around the barriers.
  check(world, MPI_Win_lock_all(MPI_MODE_NOCHECK, s->win_), op);
  return s;
}

SharedMean::~SharedMean() {
  // Freeing is collective: skip it while unwinding or after a failed collective (the World then
  // aborts every rank), so a lone rank never waits here for peers that will not come.
  const bool alone = std::uncaught_exceptions() > 0 || world_.impl().broken;
  if (win_ != MPI_WIN_NULL && !alone) {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
  }
  if (node_ != MPI_COMM_NULL && !alone) MPI_Comm_free(&node_);
}

void SharedMean::barrier() {
  check(world_, MPI_Win_sync(win_), op_);
  MPI_Request req = MPI_REQUEST_NULL;
  check(world_, MPI_Ibarrier(node_, &req), op_);
  wait(world_, req, op_);
  check(world_, MPI_Win_sync(win_), op_);
}

void SharedMean::mean(std::vector<Tensor>& buffers) {
  if (buffers.size() != numels_.size()) {
    throw Error(std::string(op_) + ": shared-memory mean of " + std::to_string(buffers.size()) +
                " buffers, made for " + std::to_string(numels_.size()));
  }
  for (size_t i = 0; i < buffers.size(); ++i) {
    const Tensor& b = buffers[i];
    if (b.numel() != numels_[i] || b.dtype() != dtypes_[i] || !b.is_contiguous()) {
      throw Error(std::string(op_) + ": shared-memory mean: buffer " + std::to_string(i) +
                  " is not the contiguous " + std::string(dtype_name(dtypes_[i])) + " of " +
                  std::to_string(numels_[i]) + " elements it was made for");
    }
  }
  // Rank r sums slice r of every buffer. It reads its own slice from its own buffer and writes
  // the mean there directly, so only the other slices travel through its segment.
  const int rank = world_.rank();
  const auto size = static_cast<size_t>(world_.size());
  const auto me = static_cast<size_t>(rank);
  const auto slice = [&](size_t i, size_t r) {  // [first, last) of rank r's slice of buffer i
    return std::pair<int64_t, int64_t>{numels_[i] * static_cast<int64_t>(r) / world_.size(),
                                       numels_[i] * static_cast<int64_t>(r + 1) / world_.size()};
  };
  // Copies the other ranks' slices of buffer i between the buffer and this rank's segment.
  const auto copy_others = [&](size_t i, bool into_segment) {
    const size_t esize = dtype_size(dtypes_[i]);
    char* buf = static_cast<char*>(raw(buffers[i]));
    char* seg = segments_[me] + offsets_[i];
    for (size_t r = 0; r < size; ++r) {
      if (r == me) continue;
      const auto [lo, hi] = slice(i, r);
      const size_t at = static_cast<size_t>(lo) * esize,
                   bytes = static_cast<size_t>(hi - lo) * esize;
      if (into_segment) {
        std::memcpy(seg + at, buf + at, bytes);
      } else {
        std::memcpy(buf + at, seg + at, bytes);
      }
    }
  };
  for (size_t i = 0; i < buffers.size(); ++i) copy_others(i, true);
  barrier();  // every segment holds its rank's buffers (but for that rank's own slice)
  std::vector<const char*> from(size);
  std::vector<char*> to(size);
  for (size_t i = 0; i < buffers.size(); ++i) {
    for (size_t r = 0; r < size; ++r) {
      from[r] = r == me ? static_cast<const char*>(raw(buffers[i])) : segments_[r] + offsets_[i];
      to[r] = r == me ? static_cast<char*>(raw(buffers[i])) : segments_[r] + offsets_[i];
    }
    const auto [lo, hi] = slice(i, me);
    if (dtypes_[i] == DType::f32) {
      mean_range<float>(from, to, lo, hi);
    } else {
      mean_range<double>(from, to, lo, hi);
    }
  }
  barrier();  // every slice's mean is in every segment
  for (size_t i = 0; i < buffers.size(); ++i) copy_others(i, false);
}

}  // namespace affine::dist::detail
