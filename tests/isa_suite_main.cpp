// main() of the suites ctest runs once more per ISA (tests/CMakeLists.txt: <suite>_isa_<isa>, with
// AFFINE_ISA set). A forced run that could only repeat another run kernel for kernel exits with
// 77, which ctest reports as skipped:
//   - AFFINE_ISA names an ISA this CPU cannot run: the library falls back to the best one it has;
//   - AFFINE_ISA names the CPU's best ISA: the suite's plain run (no AFFINE_ISA) already tests it.
// So a machine runs each suite once per ISA it has, and spends no CI time on copies.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "affine/tensor/parallel.hpp"

namespace {

constexpr int kSkipped = 77;  // SKIP_RETURN_CODE of the forced runs

bool lists_tests(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--gtest_list_tests") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const char* forced = std::getenv("AFFINE_ISA");
  if (forced != nullptr && *forced != '\0' && !lists_tests(argc, argv)) {
    const affine::Isa best = affine::best_isa();
    for (const affine::Isa isa : {affine::Isa::avx512, affine::Isa::avx2, affine::Isa::generic}) {
      if (affine::isa_name(isa) != forced || isa < best) continue;
      if (isa > best) {
        std::printf("skipped: this CPU cannot run the %s kernels (its best ISA is %s)\n", forced,
                    affine::isa_name(best).data());
      } else {
        std::printf("skipped: %s is this CPU's best ISA, which the plain run already tests\n",
                    forced);
      }
      return kSkipped;
    }
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
