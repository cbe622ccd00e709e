// Helpers shared by the GoogleTest files.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "affine/tensor/error.hpp"

namespace affine::test {

/// The message of the affine::Error that fn throws; records a test failure (and returns "") when
/// it throws none, so an expected message can never match by accident.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no affine::Error thrown";
  return "";
}

}  // namespace affine::test
