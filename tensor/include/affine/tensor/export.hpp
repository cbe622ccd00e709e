// AFFINE_API marks what the affine library exports. Its layers are compiled with hidden symbol
// visibility (-fvisibility=hidden), so in a shared build only what the installed headers mark
// AFFINE_API (public classes and free functions) is visible to users; everything in src/ and in
// the internal headers stays private to the library.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define AFFINE_API __attribute__((visibility("default")))
#else
#define AFFINE_API
#endif
