// Counting replacements of the global operator new and operator delete, for tests that assert a
// code path performs no heap allocation (e.g. zero allocations per training step in steady state).
//
//   #include "alloc_counter.hpp"
//   affine::test::AllocCounter count;           // snapshot
//   ... code under test ...
//   EXPECT_EQ(count.news(), 0u);                  // operator new calls since the snapshot
//
// This header DEFINES the replaceable global allocation functions (every standard overload:
// plain, array, nothrow, aligned, sized). Include it in exactly ONE translation unit per
// executable: a second copy is a duplicate definition. The replacements count every call, on every
// thread, from every library in the process (GoogleTest included), so keep the measured region free
// of EXPECT/ASSERT and of other threads' work, or use thread_news() for the calling thread only.
// malloc itself is not counted: affine's tensor buffers are counted by affine::memory_stats().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace affine::test {

inline std::atomic<uint64_t> g_operator_news{0};
inline std::atomic<uint64_t> g_operator_deletes{0};
inline thread_local uint64_t t_operator_news = 0;

/// Operator new calls (any overload) in the process since start, and on the calling thread.
inline uint64_t operator_new_calls() { return g_operator_news.load(std::memory_order_relaxed); }
inline uint64_t thread_operator_new_calls() { return t_operator_news; }
/// Operator delete calls with a non-null pointer in the process since start.
inline uint64_t operator_delete_calls() {
  return g_operator_deletes.load(std::memory_order_relaxed);
}

/// Counts operator new/delete calls from its construction on.
class AllocCounter {
 public:
  AllocCounter()
      : news_(operator_new_calls()),
        deletes_(operator_delete_calls()),
        thread_news_(thread_operator_new_calls()) {}
  /// operator new calls on any thread since construction.
  uint64_t news() const { return operator_new_calls() - news_; }
  /// operator delete calls (non-null) on any thread since construction.
  uint64_t deletes() const { return operator_delete_calls() - deletes_; }
  /// operator new calls on the calling thread since construction (construct and read on one
  /// thread).
  uint64_t thread_news() const { return thread_operator_new_calls() - thread_news_; }

 private:
  uint64_t news_;
  uint64_t deletes_;
  uint64_t thread_news_;
};

/// >= 0: operator new calls on this thread that succeed before one fails (see FailAllocation).
inline thread_local int64_t t_fail_countdown = -1;

/// Makes the (n+1)-th operator new call on the calling thread from now on fail (std::bad_alloc,
/// or nullptr for the nothrow forms), once; disarmed when it fires or when the guard ends. For
/// exception-safety tests: run an operation with n = 0, 1, 2, ... until it succeeds.
class FailAllocation {
 public:
  explicit FailAllocation(int64_t n) { t_fail_countdown = n; }
  ~FailAllocation() { t_fail_countdown = -1; }
  FailAllocation(const FailAllocation&) = delete;
  FailAllocation& operator=(const FailAllocation&) = delete;
  /// True once the planned failure has happened.
  bool fired() const { return t_fail_countdown < 0; }
};

namespace alloc_counter_detail {

inline void* try_allocate(std::size_t n, std::size_t align) noexcept {
  g_operator_news.fetch_add(1, std::memory_order_relaxed);
  ++t_operator_news;
  if (t_fail_countdown == 0) {
    t_fail_countdown = -1;
    return nullptr;
  }
  if (t_fail_countdown > 0) --t_fail_countdown;
  if (n == 0) n = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(n);
  if (n > SIZE_MAX - align) return nullptr;
  return std::aligned_alloc(align, (n + align - 1) / align * align);  // size: multiple of align
}

// The standard's loop: on failure call the new-handler, if any, and retry; else throw bad_alloc.
inline void* allocate(std::size_t n, std::size_t align) {
  for (;;) {
    if (void* p = try_allocate(n, align)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

inline void* allocate_nothrow(std::size_t n, std::size_t align) noexcept {
  try {
    return allocate(n, align);
  } catch (...) {
    return nullptr;
  }
}

inline void release(void* p) noexcept {
  if (p == nullptr) return;
  g_operator_deletes.fetch_add(1, std::memory_order_relaxed);
  std::free(p);
}

}  // namespace alloc_counter_detail
}  // namespace affine::test

// Replaceable allocation functions: never `inline` (the standard forbids it), hence one TU only.
// NOLINTBEGIN(misc-new-delete-overloads)
void* operator new(std::size_t n) { return affine::test::alloc_counter_detail::allocate(n, 0); }
void* operator new[](std::size_t n) { return affine::test::alloc_counter_detail::allocate(n, 0); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return affine::test::alloc_counter_detail::allocate_nothrow(n, 0);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return affine::test::alloc_counter_detail::allocate_nothrow(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return affine::test::alloc_counter_detail::allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return affine::test::alloc_counter_detail::allocate(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return affine::test::alloc_counter_detail::allocate_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return affine::test::alloc_counter_detail::allocate_nothrow(n, static_cast<std::size_t>(a));
}

void operator delete(void* p) noexcept { affine::test::alloc_counter_detail::release(p); }
void operator delete[](void* p) noexcept { affine::test::alloc_counter_detail::release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete(void* p, std::size_t) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  affine::test::alloc_counter_detail::release(p);
}
// NOLINTEND(misc-new-delete-overloads)
