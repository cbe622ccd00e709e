// libFuzzer target for the .npy reader: arbitrary bytes must either parse or be refused with
// affine::Error. Any other exception escapes and aborts (a finding), as does any crash, sanitizer
// report, leak or runaway allocation (libFuzzer's -rss_limit_mb / -malloc_limit_mb).
#include <cstddef>
#include <cstdint>
#include <string>

#include "affine/tensor/error.hpp"
#include "affine/tensor/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const affine::Tensor t = affine::parse_npy(bytes, "fuzz");
    // Whatever was accepted must be coherent: a contiguous tensor whose bytes fit in the input,
    // and every element readable (ASan checks the reads).
    if (!t.defined() || !t.is_contiguous()) __builtin_trap();
    const size_t nbytes = static_cast<size_t>(t.numel()) * affine::dtype_size(t.dtype());
    if (nbytes > size) __builtin_trap();
    double sum = 0;
    for (double v : t.to(affine::DType::f64).to_vector<double>()) sum += v;
    (void)sum;
  } catch (const affine::Error&) {
    // A refusal with a message is the expected outcome for malformed input.
  }
  return 0;
}
