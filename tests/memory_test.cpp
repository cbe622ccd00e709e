// The caching allocator behind tensor storage: size classes, counters, the cache limit,
// empty_storage_cache, zero system allocations and zero operator new calls in steady state,
// cross-thread frees, and (under AddressSanitizer) poisoning of cached memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "affine/tensor/internal/access.hpp"
#include "affine/tensor/memory.hpp"
#include "affine/tensor/tensor.hpp"
#include "alloc_counter.hpp"  // the one translation unit of memory_test that includes it
#include "allocator.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define AFFINE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AFFINE_TEST_ASAN 1
#endif
#endif
#ifdef AFFINE_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace affine {

// Destroyed after the allocator's exit cleanup may have run: its buffer must then go straight back
// to the system (LeakSanitizer checks that nothing is left behind either way).
Tensor g_outlives_main;  // NOLINT(cert-err58-cpp)

namespace {

using detail::size_class;
using detail::size_class_bytes;

constexpr size_t class_of_floats(int64_t n) {
  return size_class_bytes(size_class(static_cast<size_t>(n) * sizeof(float)));
}

double total(const Tensor& t) {
  double s = 0;
  for (float v : t.to_vector<float>()) s += v;
  return s;
}

// Every test starts with an empty cache and the default limit, and leaves them so.
class Memory : public ::testing::Test {
 protected:
  void SetUp() override {
    limit_ = storage_cache_limit();
    set_storage_cache_limit(size_t{1} << 30);
    empty_storage_cache();
  }
  void TearDown() override {
    set_storage_cache_limit(limit_);
    empty_storage_cache();
  }

 private:
  size_t limit_ = 0;
};

TEST(SizeClasses, CoverEveryRequestWithAtMostOneEighthWaste) {
  EXPECT_EQ(size_class_bytes(size_class(0)), 64u);
  EXPECT_EQ(size_class_bytes(size_class(1)), 64u);
  EXPECT_EQ(size_class_bytes(size_class(65)), 128u);
  EXPECT_EQ(size_class_bytes(size_class(40'000'000)), 41'943'040u);  // the batch-100k activation
  for (int c = 0; c < detail::kNumSizeClasses; ++c) {
    const size_t bytes = size_class_bytes(c);
    EXPECT_EQ(bytes % 64, 0u) << c;
    EXPECT_EQ(size_class(bytes), c) << c;          // a class holds its own size ...
    EXPECT_EQ(size_class(bytes + 1), c + 1) << c;  // ... and nothing larger
    if (c > 0) {
      EXPECT_GT(bytes, size_class_bytes(c - 1)) << c;
    }
  }
  for (size_t n = 1; n < (size_t{1} << 40); n = n * 3 + 7) {
    const size_t cap = size_class_bytes(size_class(n));
    EXPECT_GE(cap, n);
    if (n > 1024) {
      EXPECT_LE(cap - n, n / 8) << n;
    }
  }
}

TEST_F(Memory, CountersFollowAllocateFreeReuse) {
  const MemoryStats s0 = memory_stats();
  EXPECT_EQ(s0.bytes_cached, 0u);
  EXPECT_EQ(s0.cache_limit, size_t{1} << 30);
  const size_t cap = class_of_floats(1000);
  {
    const Tensor t = Tensor::empty({1000});
    const MemoryStats s1 = memory_stats();
    EXPECT_EQ(s1.allocations, s0.allocations + 1);
    EXPECT_EQ(s1.system_allocations, s0.system_allocations + 1);
    EXPECT_EQ(s1.cache_hits, s0.cache_hits);
    EXPECT_EQ(s1.bytes_in_use, s0.bytes_in_use + cap);
    EXPECT_GE(s1.peak_bytes_in_use, s1.bytes_in_use);
    const Tensor view = t.reshape({10, 100}).transpose(0, 1);  // views share, allocate nothing
    EXPECT_EQ(memory_stats().allocations, s1.allocations);
  }
  const MemoryStats s2 = memory_stats();
  EXPECT_EQ(s2.bytes_in_use, s0.bytes_in_use);
  EXPECT_EQ(s2.bytes_cached, cap);
  EXPECT_EQ(s2.system_frees, s0.system_frees);
  {
    const Tensor t = Tensor::zeros({990});  // another size of the same class
    const MemoryStats s3 = memory_stats();
    EXPECT_EQ(s3.cache_hits, s0.cache_hits + 1);
    EXPECT_EQ(s3.system_allocations, s0.system_allocations + 1);
    EXPECT_EQ(s3.bytes_cached, 0u);
    EXPECT_EQ(total(t), 0.0) << "zeros() must clear a reused buffer";
  }
  empty_storage_cache();
  const MemoryStats s4 = memory_stats();
  EXPECT_EQ(s4.bytes_cached, 0u);
  EXPECT_EQ(s4.system_frees, s0.system_frees + 1);
}

TEST_F(Memory, PeaksAndReset) {
  {
    const Tensor a = Tensor::empty({1 << 20});  // 4 MiB
    const Tensor b = Tensor::empty({1 << 20});
  }
  MemoryStats s = memory_stats();
  EXPECT_GE(s.peak_bytes_in_use, s.bytes_in_use + 2 * class_of_floats(1 << 20));
  EXPECT_GE(s.peak_bytes_reserved, s.peak_bytes_in_use);
  reset_peak_memory_stats();
  s = memory_stats();
  EXPECT_EQ(s.peak_bytes_in_use, s.bytes_in_use);
  EXPECT_EQ(s.peak_bytes_reserved, s.bytes_in_use + s.bytes_cached);
}

// What a training step does to memory: the same sizes allocated and freed every iteration, big
// and small, in and out of order, with views and copies of tensors.
void one_step(int64_t big_rows) {
  Tensor x = Tensor::empty({big_rows, 100});  // 40 MB at 100,000 rows
  x.fill_(0.5);
  const Tensor h = Tensor::zeros({32, 100});
  const Tensor w = Tensor::full({100, 2}, 0.25, DType::f64);
  const Tensor wt = w.transpose(0, 1).clone();  // strided copy into fresh storage
  Tensor copy = h;                              // shares storage
  const Tensor s = Tensor::scalar(1.0);
  const Tensor e = Tensor::empty({0});
  x = Tensor();  // freed before the others, out of creation order
  const Tensor g = Tensor::empty({big_rows, 100});
  copy = Tensor::empty({7, 3});
}

TEST_F(Memory, SteadyStateMakesNoSystemAllocationAndCallsNoOperatorNew) {
  one_step(100'000);  // the first step fills the cache
  const MemoryStats before = memory_stats();
  const test::AllocCounter count;
  for (int i = 0; i < 5; ++i) one_step(100'000);
  const uint64_t news = count.news();
  const MemoryStats after = memory_stats();
  EXPECT_EQ(news, 0u) << "operator new calls in 5 steady-state steps";
  EXPECT_EQ(after.system_allocations, before.system_allocations);
  EXPECT_EQ(after.system_frees, before.system_frees);
  EXPECT_EQ(after.cache_hits - before.cache_hits, after.allocations - before.allocations);
  EXPECT_EQ(after.allocations - before.allocations, 5u * 8u);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
}

TEST_F(Memory, CounterSeesOperatorNew) {
  const test::AllocCounter count;
  auto storage = std::make_shared<detail::Storage>(8);  // control block from operator new
  const uint64_t news = count.news();
  storage.reset();
  EXPECT_EQ(news, 1u);
  EXPECT_EQ(count.deletes(), 1u);
}

TEST_F(Memory, CreatingATensorCallsNoOperatorNewOnceWarm) {
  { const Tensor warm = Tensor::empty({32, 100}); }
  const test::AllocCounter count;
  for (int i = 0; i < 10'000; ++i) {
    const Tensor t = Tensor::empty({32, 100});
    const Tensor v = t.transpose(0, 1);
  }
  const uint64_t news = count.thread_news();
  EXPECT_EQ(news, 0u);
}

// from_blob: the caller's memory, viewed in place; affine neither counts, caches nor frees it, and
// releases the owner with the last view.
TEST_F(Memory, FromBlobViewsBorrowedMemoryAndReleasesItsOwnerWithTheLastView) {
  auto block = std::make_shared<std::vector<float>>(32, 1.0F);  // not 64-byte aligned in general
  alignas(64) static float aligned[16];
  std::fill(std::begin(aligned), std::end(aligned), 2.0F);
  std::weak_ptr<std::vector<float>> watch = block;
  const MemoryStats before = memory_stats();
  Tensor view;
  {
    const Tensor t = Tensor::from_blob(aligned, {4, 4}, DType::f32, block);
    block.reset();
    EXPECT_EQ(t.data<float>(), aligned);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(total(t), 32.0);
    view = t.narrow(0, 1, 2);
    view.fill_(3.0);  // writes go to the caller's memory
  }
  EXPECT_EQ(aligned[3], 2.0F);
  EXPECT_EQ(aligned[4], 3.0F);
  EXPECT_EQ(aligned[11], 3.0F);
  EXPECT_FALSE(watch.expired());  // a view still holds the storage
  view = Tensor();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(memory_stats().bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(memory_stats().system_allocations, before.system_allocations);

  EXPECT_EQ(Tensor::from_blob(nullptr, {0, 3}, DType::f64, nullptr).numel(), 0);
  const auto message = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] {
              Tensor::from_blob(nullptr, {2}, DType::f32, nullptr);
            }).find("Tensor::from_blob: null data for shape [2]"),
            std::string::npos);
  EXPECT_NE(message([] {
              Tensor::from_blob(aligned + 1, {2}, DType::f32, nullptr);
            }).find("Tensor::from_blob: data is not 64-byte aligned (address % 64 = 4)"),
            std::string::npos);
  EXPECT_NE(message([] {
              Tensor::from_blob(aligned, {-1}, DType::f32, nullptr);
            }).find("Tensor::from_blob"),
            std::string::npos);
}

TEST_F(Memory, AlignedAndDistinctAcrossReuse) {
  std::vector<Tensor> live;
  for (int round = 0; round < 3; ++round) {
    for (int64_t n : {0, 1, 3, 17, 257, 1000, 70'000}) live.push_back(Tensor::empty({n}));
    for (size_t i = 0; i < live.size(); ++i) {
      const auto* p = live[i].data<float>();
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
      for (size_t j = 0; j < i; ++j) EXPECT_NE(p, live[j].data<float>());
    }
    live.resize(live.size() / 2);  // keep some alive, free the rest into the cache
  }
}

TEST_F(Memory, CacheLimitIsRespected) {
  const size_t cap = class_of_floats(128 * 1024);  // 512 KiB
  set_storage_cache_limit(cap + cap / 2);
  const MemoryStats s0 = memory_stats();
  {
    std::vector<Tensor> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(Tensor::empty({128 * 1024}));
  }
  MemoryStats s = memory_stats();
  EXPECT_EQ(s.bytes_cached, cap) << "only one 512 KiB buffer fits under 768 KiB";
  EXPECT_EQ(s.system_frees, s0.system_frees + 2);
  EXPECT_EQ(s.cache_limit, cap + cap / 2);

  set_storage_cache_limit(cap - 1);  // lowering the limit releases down to it
  s = memory_stats();
  EXPECT_EQ(s.bytes_cached, 0u);
  EXPECT_EQ(s.system_frees, s0.system_frees + 3);

  set_storage_cache_limit(0);  // no caching at all
  for (int i = 0; i < 3; ++i) (void)Tensor::empty({100});
  s = memory_stats();
  EXPECT_EQ(s.bytes_cached, 0u);
  EXPECT_EQ(s.system_allocations, s0.system_allocations + 6);
  EXPECT_EQ(s.cache_hits, s0.cache_hits);
}

TEST_F(Memory, EmptyStorageCacheReleasesOnlyCachedBuffers) {
  const Tensor kept = Tensor::full({5000}, 3.0);
  {
    std::vector<Tensor> ts;
    for (int i = 0; i < 10; ++i) ts.push_back(Tensor::empty({4000}));
  }
  const MemoryStats s0 = memory_stats();
  EXPECT_EQ(s0.bytes_cached, 10 * class_of_floats(4000));
  empty_storage_cache();
  const MemoryStats s1 = memory_stats();
  EXPECT_EQ(s1.bytes_cached, 0u);
  EXPECT_EQ(s1.bytes_in_use, s0.bytes_in_use);
  EXPECT_EQ(s1.system_frees - s0.system_frees, 10u);
  EXPECT_EQ(total(kept), 15000.0);
}

TEST_F(Memory, StorageMadeWithMakeSharedStillWorks) {
  auto storage = std::make_shared<detail::Storage>(24);
  const Tensor t = TensorAccess::make(storage, 0, {6}, {1}, DType::f32);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(storage->data) % 64, 0u);
  EXPECT_THROW(detail::Storage(size_t{1} << 63), Error);
}

TEST_F(Memory, OutOfMemoryIsAnAffineError) {
#ifdef AFFINE_TEST_ASAN
  GTEST_SKIP() << "ASan aborts on a 1 PiB request instead of returning null";
#else
  try {
    (void)Tensor::empty({int64_t{1} << 48});  // 1 PiB of float32
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("Storage: out of memory allocating 1125899906842624 bytes"),
        std::string::npos)
        << e.what();
  }
#endif
}

// 4 threads allocate, fill, check and trade tensors through a shared mailbox, so most buffers are
// freed on another thread than the one that allocated them; one round with a tiny limit mixes in
// system frees, and a fifth thread empties the cache now and then.
void stress(size_t limit) {
  set_storage_cache_limit(limit);
  constexpr int kThreads = 4;
#ifdef AFFINE_TEST_ASAN
  constexpr int kIters = 1000;  // poisoning 280 KB buffers is slow under ASan
#else
  constexpr int kIters = 3000;
#endif
  constexpr int64_t kSizes[] = {0, 1, 17, 255, 1000, 4096, 70'000};
  std::mutex mailbox_mutex;
  std::vector<Tensor> mailbox(64);
  std::atomic<int> bad{0};
  std::atomic<bool> done{false};

  auto check = [&](const Tensor& t) {
    if (!t.defined() || t.numel() == 0) return;
    const float* p = t.data<float>();
    const float tag = p[0];
    for (int64_t i = 1; i < t.numel(); ++i) {
      if (p[i] != tag) {
        bad.fetch_add(1);
        return;
      }
    }
  };
  auto worker = [&](int id) {
    uint32_t rng = 12345u + static_cast<uint32_t>(id) * 7919u;
    for (int it = 0; it < kIters; ++it) {
      rng = rng * 1664525u + 1013904223u;
      const int64_t n = kSizes[(rng >> 8) % std::size(kSizes)];
      Tensor t = Tensor::empty({n});
      t.fill_(static_cast<double>(id * kIters + it));
      check(t);
      Tensor other;
      {
        std::lock_guard lock(mailbox_mutex);
        std::swap(other, mailbox[(rng >> 16) % mailbox.size()]);
        mailbox[(rng >> 16) % mailbox.size()] = std::move(t);
      }
      check(other);
      other = Tensor();  // usually allocated on another thread
    }
  };
  std::thread janitor([&] {
    while (!done.load()) {
      empty_storage_cache();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (auto& th : threads) th.join();
  done = true;
  janitor.join();
  for (const Tensor& t : mailbox) check(t);
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(Memory, ThreadsAllocateAndFreeAcrossThreads) {
  const MemoryStats s0 = memory_stats();
  stress(size_t{1} << 30);
  stress(16 * 1024);
  const MemoryStats s1 = memory_stats();
  EXPECT_EQ(s1.bytes_in_use, s0.bytes_in_use) << "every buffer came back";
  EXPECT_GT(s1.cache_hits, s0.cache_hits);
}

TEST_F(Memory, BuffersOutlivingTheCacheGoBackToTheSystem) {
  g_outlives_main = Tensor::full({1000}, 2.0);  // destroyed by a static destructor at exit
  EXPECT_EQ(total(g_outlives_main), 2000.0);
}

#ifdef AFFINE_TEST_ASAN
TEST_F(Memory, AsanPoisonsCachedBuffersAndClassTails) {
  const float* p = nullptr;
  {
    const Tensor t = Tensor::empty({257});  // 1028 bytes: usable 1088, class 1152
    p = t.data<float>();
    EXPECT_FALSE(__asan_address_is_poisoned(p));
    EXPECT_FALSE(__asan_address_is_poisoned(reinterpret_cast<const char*>(p) + 1087));
    EXPECT_TRUE(__asan_address_is_poisoned(reinterpret_cast<const char*>(p) + 1088));
  }
  EXPECT_TRUE(__asan_address_is_poisoned(p)) << "a cached buffer is poisoned";
  EXPECT_TRUE(__asan_address_is_poisoned(reinterpret_cast<const char*>(p) + 512));
  const Tensor again = Tensor::empty({257});
  EXPECT_EQ(again.data<float>(), p) << "the same class reuses the buffer";
  EXPECT_FALSE(__asan_address_is_poisoned(p));
}

TEST_F(Memory, AsanReportsUseAfterFreeOfACachedBuffer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        const float* p = nullptr;
        {
          const Tensor t = Tensor::full({100}, 1.0);
          p = t.data<float>();
        }
        volatile float x = p[3];
        (void)x;
      },
      "use-after-poison");
}
#endif

}  // namespace
}  // namespace affine
