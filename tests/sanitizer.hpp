// Whether this test binary runs under AddressSanitizer (scripts/test.sh's sanitizer stage).
//
// Tests whose cost is arithmetic over many inputs (accuracy sweeps, oracles) rather than new
// memory-access patterns sample fewer inputs there: the sanitizer adds nothing to the extra
// samples, and the Release run keeps the full coverage.
#pragma once

namespace affine::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace affine::test
