// CPU feature detection and the process-wide ISA choice.
//
// The choice is made once, on first use, and never changes afterwards: kernels cache function
// pointers chosen from it, and results must not depend on when a call happens.
#include "cpu.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define AFFINE_X86 1
#include <cpuid.h>
#endif

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace affine {
namespace detail {
namespace {

#ifdef AFFINE_X86
// XCR0: which register state the OS saves on context switch. CPUID alone is not enough: a CPU
// with AVX-512 under an OS (or hypervisor) that does not save ZMM state must not use it.
uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

struct X86Features {
  bool avx2_fma = false;
  bool avx512f = false;
};

X86Features detect_x86() {
  X86Features f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = (ecx >> 27) & 1;
  const bool avx = (ecx >> 28) & 1;
  const bool fma = (ecx >> 12) & 1;
  const bool f16c = (ecx >> 29) & 1;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = (ebx >> 5) & 1;
  // The *_avx512.cpp files are compiled with F, DQ, VL and BW; require all of them.
  const bool avx512f = (ebx >> 16) & 1;
  const bool avx512dq = (ebx >> 17) & 1;
  const bool avx512bw = (ebx >> 30) & 1;
  const bool avx512vl = (ebx >> 31) & 1;
  f.avx2_fma = os_ymm && avx2 && fma && f16c;
  f.avx512f = f.avx2_fma && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}
#endif

Isa best_supported() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2)) return Isa::avx2;
  return Isa::generic;
}

Isa choose_isa() {
  const Isa best = best_supported();
  const char* env = std::getenv("AFFINE_ISA");
  if (env == nullptr || *env == '\0') return best;
  const std::string_view want(env);
  Isa asked;
  if (want == "avx512") {
    asked = Isa::avx512;
  } else if (want == "avx2") {
    asked = Isa::avx2;
  } else if (want == "generic") {
    asked = Isa::generic;
  } else {
    std::fprintf(stderr, "affine: ignoring AFFINE_ISA=%s (expected avx512, avx2 or generic)\n",
                 env);
    return best;
  }
  if (!cpu_supports(asked)) {
    std::fprintf(stderr, "affine: AFFINE_ISA=%s is not supported by this CPU; using %s\n", env,
                 isa_name(best).data());
    return best;
  }
  return asked;
}

int64_t sysconf_or(int name, int64_t fallback) {
#if defined(__unix__) || defined(__APPLE__)
  const long v = ::sysconf(name);
  if (v > 0) return v;
#else
  (void)name;
#endif
  return fallback;
}

CacheSizes detect_caches() {
  CacheSizes c{32 * 1024, 1024 * 1024, 8 * 1024 * 1024};
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
    defined(_SC_LEVEL3_CACHE_SIZE)
  c.l1d = sysconf_or(_SC_LEVEL1_DCACHE_SIZE, c.l1d);
  c.l2 = sysconf_or(_SC_LEVEL2_CACHE_SIZE, c.l2);
  c.l3 = sysconf_or(_SC_LEVEL3_CACHE_SIZE, c.l3);
#else
  (void)&sysconf_or;
#endif
  // Guard against nonsense from virtualised CPUID (seen: L2 reported as 0 or as the L3 size).
  if (c.l1d < 8 * 1024 || c.l1d > 1024 * 1024) c.l1d = 32 * 1024;
  if (c.l2 < 128 * 1024 || c.l2 > 64 * 1024 * 1024) c.l2 = 1024 * 1024;
  if (c.l3 < c.l2) c.l3 = c.l2;
  return c;
}

}  // namespace

bool cpu_supports(Isa isa) {
#ifdef AFFINE_X86
  static const X86Features f = detect_x86();
  switch (isa) {
    case Isa::generic:
      return true;
    case Isa::avx2:
      return f.avx2_fma;
    case Isa::avx512:
      return f.avx512f;
  }
  return false;
#else
  return isa == Isa::generic;
#endif
}

const CacheSizes& cache_sizes() {
  static const CacheSizes c = detect_caches();
  return c;
}

}  // namespace detail

Isa active_isa() {
  // Read once: a function-local static is initialised thread-safely on first use.
  static const Isa isa = detail::choose_isa();
  return isa;
}

Isa best_isa() {
  static const Isa isa = detail::best_supported();
  return isa;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::generic:
      return "generic";
  }
  return "unknown";
}

}  // namespace affine
