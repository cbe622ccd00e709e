// affine::dist: one include for data-parallel training over MPI (link affine::dist).
#pragma once

// IWYU pragma: begin_exports
#include "affine/dist/checkpoint.hpp"
#include "affine/dist/collectives.hpp"
#include "affine/dist/data_parallel.hpp"
#include "affine/dist/sampler.hpp"
#include "affine/dist/world.hpp"
// IWYU pragma: end_exports
