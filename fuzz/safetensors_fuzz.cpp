// libFuzzer target for the safetensors reader: arbitrary bytes must either parse or be refused
// with affine::Error. Any other exception escapes and aborts (a finding), as does any crash,
// sanitizer report, leak or runaway allocation (libFuzzer's -rss_limit_mb / -malloc_limit_mb).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "affine/nn/checkpoint.hpp"
#include "affine/tensor/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const affine::nn::SafetensorsFile f = affine::nn::parse_safetensors(bytes, "fuzz");
    // Whatever was accepted must be coherent: each tensor's bytes lie inside the input, so reading
    // every element back is in bounds (ASan checks the copies made by the parser).
    size_t total = 0;
    for (const auto& [name, t] : f.tensors) {
      if (!t.defined() || !t.is_contiguous()) __builtin_trap();
      total += static_cast<size_t>(t.numel()) * affine::dtype_size(t.dtype());
    }
    if (total > size) __builtin_trap();
  } catch (const affine::Error&) {
    // A refusal with a message is the expected outcome for malformed input.
  }
  return 0;
}
