// The World of an MPI test binary (made in mpi_main.cpp).
#pragma once

#include "affine/dist/world.hpp"

const affine::dist::World& world();
