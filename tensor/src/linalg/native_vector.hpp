// Internal: the width of the vector registers of the ISA the including file is compiled for
// (*_avx512.cpp, *_avx2.cpp, or the x86-64 baseline), for the linalg leaves that hold GCC/Clang
// vector types. Wider vector types than this are lowered by GCC 12 through the stack and general
// registers, so those loops hold their data as several vectors of this width instead.
#pragma once

namespace affine::detail::linalg {
// Internal linkage: the value differs from one ISA's file to the next.
namespace {

#if defined(__AVX512F__)
constexpr int kNativeBytes = 64;
#elif defined(__AVX__)
constexpr int kNativeBytes = 32;
#else
constexpr int kNativeBytes = 16;
#endif

}  // namespace
}  // namespace affine::detail::linalg
