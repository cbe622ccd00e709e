// main() of the suites ctest runs once more per ISA (tests/CMakeLists.txt: <suite>_isa_<isa>, with
// AFFINE_ISA set). A forced run whose kernels are the CPU's best exits with 77, which ctest
// reports as skipped: the suite's plain run (no AFFINE_ISA) already tests them. That is the case
// when AFFINE_ISA names the best ISA, and when it names one the CPU lacks (the library then falls
// back to the best). So a machine runs each suite once per ISA it has, and no copies.
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
  if (forced != nullptr && *forced != '\0' && !lists_tests(argc, argv) &&
      affine::active_isa() == affine::best_isa()) {
    std::printf(
        "skipped: AFFINE_ISA=%s runs the %s kernels, this CPU's best, which the plain run "
        "already tests\n",
        forced, affine::isa_name(affine::best_isa()).data());
    return kSkipped;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
