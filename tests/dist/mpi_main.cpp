// main() of the MPI test binaries: one dist::World for the whole run, GoogleTest on every rank.
// Every rank runs every test (collectives need all of them); mpirun's exit status is non-zero if
// any rank fails.
#include <gtest/gtest.h>

#include "mpi_world.hpp"

namespace {
affine::dist::World* g_world = nullptr;
}

const affine::dist::World& world() { return *g_world; }

int main(int argc, char** argv) {
  // A short bound: a failed assertion on one rank leaves the others waiting in a collective.
  affine::dist::World w = affine::dist::init(argc, argv, {.timeout = 30});
  g_world = &w;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
