// The packed GEMM driver: argument checking, the five Goto/BLIS loops, packing, threads.
//
// C := alpha * A * B + beta * C is computed as a sequence of rank-kc updates of C blocks, each
// done by the micro-kernel on packed copies of A and B (see kernel.hpp for the packed formats).
// Packing reads A and B through (row stride, column stride), so transposed and sliced operands
// cost the same as plain ones and the rest of the driver never looks at strides again.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "affine/tensor/error.hpp"
#include "affine/tensor/gemm.hpp"
#include "affine/tensor/parallel.hpp"
#include "cpu.hpp"
#include "isa_table.hpp"
#include "kernel.hpp"
#include "parallel_for.hpp"
#include "parallel_threshold.hpp"

namespace affine {
namespace detail::gemm {

const IsaKernels& active_kernels() {
  static const IsaKernels& k = AFFINE_ACTIVE_ISA_TABLE(kernels_);
  return k;
}

void* scratch(int slot, int64_t bytes) {
  struct Buffer {
    void* p = nullptr;
    int64_t size = 0;
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buffers[kScratchSlots];
  Buffer& b = buffers[slot];
  if (b.size < bytes) {
    const int64_t size = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, static_cast<std::size_t>(size));
    if (p == nullptr) throw std::bad_alloc();
    std::free(b.p);
    b.p = p;
    b.size = size;
  }
  return b.p;
}

namespace {

int64_t round_down(int64_t x, int64_t step) { return std::max(step, x / step * step); }
int64_t round_up(int64_t x, int64_t step) { return (x + step - 1) / step * step; }
int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

// Blocking from the cache sizes (read at run time, see cpu.cpp).
//  - kc: each micro-kernel call reads and writes its mr x nr tile of C once per kc slice, so a
//    deeper slice amortises that fixed cost. The classic rule (B micro-panel in L1) gives kc 256
//    on a 32 KiB L1, but measured on Zen 4 the panels stream from L2 at full FMA rate (176 bytes
//    per 24 FMAs is ~7 B/cycle of L2's 64) and kc 1024 is ~8% faster. So: the B micro-panel
//    takes an eighth of L2, clamped to [128, 1024].
//  - mc: the packed A block (mc x kc) is re-read once per B micro-panel: it and the B
//    micro-panel share L2, so A gets half of it.
//  - nc: the packed B panel (kc x nc) is re-read once per A block: a quarter of L3, the rest
//    belonging to C, A and the other cores, and at most four L2s. A core's share of a shared L3
//    is a few L2s on current x86 parts (Zen 4 and 5: 4 MiB per 1 MiB L2), and a virtual machine
//    may report the whole socket's L3: the Zen 5 guest this was measured on reports 508 MiB.
//    There a 4 MiB panel ran 5-8% faster than 8 MiB (a quarter of a 32 MiB L3) on one thread
//    at sgemm 2048^3 (nc 1024), 10% at dgemm 1024^3 (nc 512); on two threads, the same within
//    noise. nc only splits the columns, so no result bit depends on it.
// On this project's Zen 4 and Zen 5 machines (L2 1 MiB) this gives float kc 1024, mc 120,
// nc 1024.
template <class T>
Blocking blocking_for(const Kernels<T>& k) {
  const CacheSizes& cs = cache_sizes();
  const int64_t mr = k.mr, nr = k.nr, sz = static_cast<int64_t>(sizeof(T));
  Blocking b{mr, nr, 0, 0, 0};
  b.kc = std::clamp<int64_t>(round_down(cs.l2 / 8 / (nr * sz), 8), 128, 1024);
  b.mc = std::clamp<int64_t>(round_down(cs.l2 / 2 / (b.kc * sz), mr), mr, 4096);
  const int64_t panel_bytes = std::min(cs.l3 / 4, 4 * cs.l2);
  b.nc = std::clamp<int64_t>(round_down(panel_bytes / (b.kc * sz), nr), nr, 8192);
  return b;
}
template Blocking blocking_for<float>(const Kernels<float>&);
template Blocking blocking_for<double>(const Kernels<double>&);

namespace {

// mc, kc, nc as the user wrote them in AFFINE_GEMM_BLOCKING; all zero when it is unset or empty.
struct BlockingRequest {
  int64_t mc = 0, kc = 0, nc = 0;
};

constexpr int64_t kMaxBlock = 16384;  // keeps the packed buffers (kc x nc) within 2 GiB

BlockingRequest parse_blocking(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return Error("AFFINE_GEMM_BLOCKING=\"" + std::string(text) + "\": " + why +
                 " (expected mc,kc,nc: three integers in [1, " + str(kMaxBlock) +
                 "], e.g. 120,1024,2048)");
  };
  static constexpr const char* kNames[3] = {"mc", "kc", "nc"};
  int64_t v[3] = {0, 0, 0};
  std::string_view rest = text;
  for (int i = 0; i < 3; ++i) {
    const size_t comma = i < 2 ? rest.find(',') : rest.size();
    if (comma == std::string_view::npos) throw bad("expected three comma-separated integers");
    const std::string_view field = rest.substr(0, comma);
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v[i]);
    if (field.empty() || ec == std::errc::invalid_argument || end != field.data() + field.size())
      throw bad(std::string(kNames[i]) + " is not an integer");
    if (ec == std::errc::result_out_of_range || v[i] < 1 || v[i] > kMaxBlock)
      throw bad(std::string(kNames[i]) + " is out of range");
    rest = i < 2 ? rest.substr(comma + 1) : std::string_view{};
  }
  return {v[0], v[1], v[2]};
}

// Read once per process; a malformed value throws here on every call, so every packed GEMM
// reports it rather than running with a blocking the user did not ask for.
const BlockingRequest& blocking_request() {
  static const BlockingRequest r = [] {
    const char* env = std::getenv("AFFINE_GEMM_BLOCKING");
    return env == nullptr || *env == '\0' ? BlockingRequest{} : parse_blocking(env);
  }();
  return r;
}

Blocking with_override(Blocking b, int64_t mc, int64_t kc, int64_t nc) {
  // mc and nc are rounded up to whole register tiles: a partial tile would be padded anyway.
  b.mc = round_up(mc, b.mr);
  b.kc = kc;
  b.nc = round_up(nc, b.nr);
  return b;
}

}  // namespace

template <class T>
const Blocking& gemm_blocking() {
  static const Blocking b = [] {
    const Blocking derived = blocking_for<T>(active_kernels_for<T>());
    const BlockingRequest& r = blocking_request();
    return r.mc == 0 ? derived : with_override(derived, r.mc, r.kc, r.nc);
  }();
  return b;
}
template const Blocking& gemm_blocking<float>();
template const Blocking& gemm_blocking<double>();

namespace {

// A[mc x kc] (through rs, cs) -> ceil(mc / mr) micro-panels of mr x kc, column-major inside,
// zero rows below the edge (kernel.hpp).
template <class T>
void pack_a(const Kernels<T>& kern, int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs,
            T* dst) {
  const int64_t mr = kern.mr;
  if (rs == 1 && cs != 1) {
    // A^T stored (tn and tt products): each k row of the block holds mc contiguous values, of
    // which one micro-panel wants mr; panel after panel, that reads kc rows a page apart per mr
    // values and fetches every line that two panels share twice (mr = 12 of a line's 16 floats).
    // Sweeping all panels over 16 k rows at a time reads each row once, in order: a 252 x 1024
    // block from a 2048-wide A^T in DRAM packs in ~250 us instead of ~450 (this Xeon). 16 is a
    // loop order, not a cache size: 16 rows of a block (16 KiB at mc 252) sit in any L1. Sizing
    // the sweep to half of L1 instead (46 rows for 256^3's 132-row blocks on this Xeon) made
    // 256^3 tn 5% slower and moved nothing at 1024^3 and 2048^3, so the rows a sweep reads
    // are kept few (each is a separate stream for the prefetchers).
    constexpr int64_t kRows = 16;
    for (int64_t p = 0; p < kc; p += kRows) {
      const int64_t rows = std::min(kRows, kc - p);
      T* d = dst + p * mr;
      for (int64_t ir = 0; ir < mc; ir += mr, d += mr * kc)
        kern.pack_a(rows, std::min(mr, mc - ir), a + ir + p * cs, 1, cs, d);
    }
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += mr, dst += mr * kc)
    kern.pack_a(kc, std::min(mr, mc - ir), a + ir * rs, rs, cs, dst);
}

// B[kc x nc] (through rs, cs) -> micro-panels [jr0, jr1) of kc x nr, row-major inside, zero
// columns past the edge (kernel.hpp).
template <class T>
void pack_b(const Kernels<T>& kern, int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs,
            int64_t jr0, int64_t jr1, T* dst) {
  const int64_t nr = kern.nr;
  for (int64_t jr = jr0; jr < jr1; ++jr)
    kern.pack_b(kc, std::min(nr, nc - jr * nr), b + jr * nr * cs, cs, rs, dst + jr * nr * kc);
}

}  // namespace

template <class T>
void gemm_packed(const Blocking& blk, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                 int64_t rs_a, int64_t cs_a, const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c,
                 int64_t rs_c, int64_t cs_c) {
  const Kernels<T>& kern = active_kernels_for<T>();
  const int64_t mr = blk.mr, nr = blk.nr;

  const int64_t nc_max = std::min(blk.nc, round_up(n, nr));
  const int64_t kc_max = std::min(blk.kc, k);

  // Two fork-joins per (jc, pc) step: packing B, then the A blocks.
  int threads = num_threads();
  if (threads > 1 && !worth_threads<T>(m * n * k, 2 * ceil_div(n, nc_max) * ceil_div(k, kc_max),
                                       m * k + m * n, k * n))
    threads = 1;

  // Threads share out A blocks (the ic loop), plus B micro-panels (the jr loop) when there are
  // fewer A blocks than threads. With more threads, the block count is rounded up to a multiple
  // of them. The blocks split m's mr-row tiles as evenly as whole tiles allow (sizes differ by
  // one tile at most), so each thread gets the same rows give or take a tile: blocks of mc rows
  // with a short last one left one thread idle at the end (2048 rows in ten blocks of 216 gave
  // the threads 1,080 and 968 rows). Block edges only move tile boundaries, which never changes
  // a result bit (kernel.hpp).
  const int64_t tiles = ceil_div(m, mr);
  int64_t n_ic = ceil_div(tiles, blk.mc / mr);  // blk.mc: whole tiles, at least one
  if (threads > 1) n_ic = round_up(n_ic, threads);
  n_ic = std::min(n_ic, tiles);
  // Rows [block_row(i), block_row(i + 1)) form A block i.
  const auto block_row = [&](int64_t i) { return std::min(m, tiles * i / n_ic * mr); };
  T* bpack = static_cast<T*>(scratch(kScratchB, kc_max * nc_max * int64_t{sizeof(T)}));

  // Loop 5 (jc): a column panel of B and C, nc wide, sized so packed B stays in L3.
  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    const int64_t n_jr = ceil_div(nc, nr);
    const int64_t n_js = n_ic >= threads ? 1 : std::min<int64_t>(ceil_div(threads, n_ic), n_jr);

    // Loop 4 (pc): the k dimension in kc slices, in order and never split across threads, so
    // every element of C sees its rank-kc updates in the same sequence for any thread count.
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const T beta_pc = pc == 0 ? beta : T(1);
      const T* bsrc = b + pc * rs_b + jc * cs_b;

      const int64_t b_tasks = std::min<int64_t>(threads, n_jr);
      parallel_for(b_tasks, threads, [&](int64_t t) {
        pack_b(kern, kc, nc, bsrc, rs_b, cs_b, n_jr * t / b_tasks, n_jr * (t + 1) / b_tasks, bpack);
      });

      // Loop 3 (ic): an mc x kc block of A, packed into this thread's buffer to live in L2.
      parallel_for(n_ic * n_js, threads, [&](int64_t task) {
        const int64_t ic = block_row(task / n_js);
        const int64_t js = task % n_js;
        const int64_t mcur = block_row(task / n_js + 1) - ic;
        const int64_t a_bytes = round_up(mcur, mr) * kc * int64_t{sizeof(T)};
        T* apack = static_cast<T*>(scratch(kScratchA, a_bytes));
        pack_a(kern, mcur, kc, a + ic * rs_a + pc * cs_a, rs_a, cs_a, apack);
        const int64_t jr_end = n_jr * (js + 1) / n_js;
        // Loop 2 (jr): one kc x nr micro-panel of B, kept in L1 while the A block streams by.
        for (int64_t jr = n_jr * js / n_js; jr < jr_end; ++jr) {
          const T* bp = bpack + jr * nr * kc;
          const int64_t ncur = std::min(nr, nc - jr * nr);
          T* cj = c + ic * rs_c + (jc + jr * nr) * cs_c;
          // Loop 1 (ir): one mr x kc micro-panel of A from L2; the micro-kernel (loop 0, over
          // kc) keeps the mr x nr tile of C in registers.
          for (int64_t ir = 0; ir < mcur; ir += mr) {
            kern.micro(kc, alpha, apack + ir * kc, bp, beta_pc, cj + ir * rs_c, rs_c, cs_c,
                       std::min(mr, mcur - ir), ncur);
          }
        }
      });
    }
  }
}

template void gemm_packed<float>(const Blocking&, int64_t, int64_t, int64_t, float, const float*,
                                 int64_t, int64_t, const float*, int64_t, int64_t, float, float*,
                                 int64_t, int64_t);
template void gemm_packed<double>(const Blocking&, int64_t, int64_t, int64_t, double, const double*,
                                  int64_t, int64_t, const double*, int64_t, int64_t, double,
                                  double*, int64_t, int64_t);

namespace {

// C := beta * C, for alpha == 0 or k == 0; beta == 0 writes zeros without reading C.
template <class T>
void scale_c(int64_t m, int64_t n, T beta, T* c, int64_t rs_c, int64_t cs_c) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * rs_c;
    if (beta == T(0)) {
      for (int64_t j = 0; j < n; ++j) ci[j * cs_c] = T(0);
    } else {
      for (int64_t j = 0; j < n; ++j) ci[j * cs_c] *= beta;
    }
  }
}

template <class T>
void gemm_any(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a,
              const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t rs_c, int64_t cs_c) {
  if (m == 0 || n == 0) return;
  if (alpha == T(0) || k == 0) {
    scale_c(m, n, beta, c, rs_c, cs_c);
    return;
  }
  if (gemm_small(m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c)) return;
  gemm_packed(gemm_blocking<T>(), m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c,
              cs_c);
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_sizes(const char* op, int64_t m, int64_t n,
                                                        int64_t k) {
  throw Error(std::string(op) + ": sizes must be non-negative, got m=" + str(m) + ", n=" + str(n) +
              ", k=" + str(k));
}

inline void check_sizes(const char* op, int64_t m, int64_t n, int64_t k) {
  if (m < 0 || n < 0 || k < 0) [[unlikely]]
    throw_sizes(op, m, n, k);
}

// The messages are built out of line (cold): the checks run on every call, and the smallest
// products take a few tens of nanoseconds, so the good path must be a few compares.
[[noreturn, gnu::cold, gnu::noinline]] void throw_ld(const char* name, int64_t ld, int64_t rows,
                                                     int64_t cols, Trans t, int64_t m, int64_t n,
                                                     int64_t k) {
  throw Error(std::string("gemm: ") + name + "=" + str(ld) +
              " is smaller than the stored row length " + str(std::max<int64_t>(1, cols)) +
              " (stored matrix " + str(rows) + " x " + str(cols) +
              (t == Trans::yes ? ", transposed" : "") + "; m=" + str(m) + ", n=" + str(n) +
              ", k=" + str(k) + ")");
}

inline void check_ld(const char* name, int64_t ld, int64_t rows, int64_t cols, Trans t, int64_t m,
                     int64_t n, int64_t k) {
  if (ld < std::max<int64_t>(1, cols)) [[unlikely]]
    throw_ld(name, ld, rows, cols, t, m, n, k);
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_null(const char* op, const char* name) {
  throw Error(std::string(op) + ": " + name + " is a null pointer");
}

inline void check_ptr(const char* op, const void* p, const char* name) {
  if (p == nullptr) [[unlikely]]
    throw_null(op, name);
}

template <class T>
void gemm_blas(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  check_sizes("gemm", m, n, k);
  const bool at = ta == Trans::yes, bt = tb == Trans::yes;
  check_ld("lda", lda, at ? k : m, at ? m : k, ta, m, n, k);
  check_ld("ldb", ldb, bt ? n : k, bt ? k : n, tb, m, n, k);
  check_ld("ldc", ldc, m, n, Trans::no, m, n, k);
  if (m == 0 || n == 0) return;
  check_ptr("gemm", c, "c");
  if (alpha != T(0) && k > 0) {
    check_ptr("gemm", a, "a");
    check_ptr("gemm", b, "b");
  }
  gemm_any(m, n, k, alpha, a, at ? 1 : lda, at ? lda : 1, b, bt ? 1 : ldb, bt ? ldb : 1, beta, c,
           ldc, int64_t{1});
}

template <class T>
void gemm_general(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a,
                  const T* b, int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t rs_c,
                  int64_t cs_c) {
  check_sizes("gemm_strided", m, n, k);
  if (m == 0 || n == 0) return;
  if ((m > 1 && rs_c == 0) || (n > 1 && cs_c == 0) || (m > 1 && n > 1 && rs_c == cs_c))
    throw Error("gemm_strided: C strides (rs_c=" + str(rs_c) + ", cs_c=" + str(cs_c) +
                ") make distinct elements of the " + str(m) + " x " + str(n) + " output overlap");
  check_ptr("gemm_strided", c, "c");
  if (alpha != T(0) && k > 0) {
    check_ptr("gemm_strided", a, "a");
    check_ptr("gemm_strided", b, "b");
  }
  gemm_any(m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c);
}

}  // namespace
}  // namespace detail::gemm

void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  detail::gemm::gemm_blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc) {
  detail::gemm::gemm_blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_strided(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t rs_a,
                  int64_t cs_a, const float* b, int64_t rs_b, int64_t cs_b, float beta, float* c,
                  int64_t rs_c, int64_t cs_c) {
  detail::gemm::gemm_general(m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c);
}

void gemm_strided(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t rs_a,
                  int64_t cs_a, const double* b, int64_t rs_b, int64_t cs_b, double beta, double* c,
                  int64_t rs_c, int64_t cs_c) {
  detail::gemm::gemm_general(m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c);
}

}  // namespace affine
