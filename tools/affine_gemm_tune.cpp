// affine-gemm-tune: measures which cache blocking makes affine's float32 GEMM fastest on this
// machine, and up to which cube the unpacked small path beats the packed one, and prints both as
// lines to export:
//
//   export $(affine-gemm-tune)        # or: affine-gemm-tune --seconds 8   (default 5)
//
// The details go to stderr; stdout gets only AFFINE_GEMM_BLOCKING=mc,kc,nc and
// AFFINE_GEMM_SMALL_MAX=side. A candidate blocking must beat the cache-derived one by more than 2%
// to be chosen over it (less is measurement noise). Run it on an idle machine, with the thread
// count you train with (AFFINE_NUM_THREADS).
#include <CLI/CLI.hpp>
#include <affine/affine.hpp>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{
      "Measures which cache blocking (mc, kc, nc) makes affine's float32 GEMM fastest on "
      "this machine, and up to which cube side its unpacked small path beats the packed one; "
      "prints AFFINE_GEMM_BLOCKING=mc,kc,nc and AFFINE_GEMM_SMALL_MAX=side to export."};
  double budget = 5.0;
  app.add_option("seconds,--seconds", budget, "time to spend measuring, in (0, 600]")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const affine::GemmTuning t = affine::gemm_tune(budget);
    std::fprintf(stderr, "affine-gemm-tune: float32 GEMM, %s kernels, %d thread(s)\n",
                 affine::isa_name(affine::active_isa()).data(), t.threads);
    std::fprintf(stderr, "  cache-derived mc=%lld kc=%lld nc=%lld: %.1f GFLOP/s\n",
                 static_cast<long long>(t.default_mc), static_cast<long long>(t.default_kc),
                 static_cast<long long>(t.default_nc), t.default_gflops);
    std::fprintf(stderr, "  fastest       mc=%lld kc=%lld nc=%lld: %.1f GFLOP/s (%+.1f%%)\n",
                 static_cast<long long>(t.mc), static_cast<long long>(t.kc),
                 static_cast<long long>(t.nc), t.gflops,
                 100.0 * (t.gflops / t.default_gflops - 1.0));
    const bool better = t.gflops > 1.02 * t.default_gflops;
    if (!better) std::fprintf(stderr, "  within 2%% of the cache-derived blocking: keeping it\n");
    std::fprintf(stderr, "  small path against packed, C = A B (float32 cubes):\n");
    for (const affine::GemmSmallTiming& s : t.small_timings)
      std::fprintf(stderr, "    %4lld^3: unpacked %6.1f GFLOP/s, packed %6.1f GFLOP/s (%.2fx)\n",
                   static_cast<long long>(s.side), s.unpacked_gflops, s.packed_gflops,
                   s.unpacked_gflops / s.packed_gflops);
    std::fprintf(stderr, "  small path up to %lld^3 (in use now: %lld^3)\n",
                 static_cast<long long>(t.small_side),
                 static_cast<long long>(t.default_small_side));
    std::printf("AFFINE_GEMM_BLOCKING=%lld,%lld,%lld\n",
                static_cast<long long>(better ? t.mc : t.default_mc),
                static_cast<long long>(better ? t.kc : t.default_kc),
                static_cast<long long>(better ? t.nc : t.default_nc));
    std::printf("AFFINE_GEMM_SMALL_MAX=%lld\n", static_cast<long long>(t.small_side));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "affine-gemm-tune: %s\n", e.what());
    return 1;
  }
}
