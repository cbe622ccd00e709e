#include "affine/nn/dropout.hpp"

#include <cstdio>
#include <string>

#include "affine/autograd/nn_ops.hpp"
#include "affine/tensor/error.hpp"
#include "layer_util.hpp"

namespace affine::nn {

using detail::number_text;

// ---- Dropout --------------------------------------------------------------------------------

Dropout::Dropout(double p) : Dropout(p, default_generator().next_u64()) {}

Dropout::Dropout(double p, uint64_t seed) : p_(p), gen_(seed) {
  if (!(p >= 0 && p < 1)) {
    throw Error("Dropout(p=" + number_text(p) + "): p must be in [0, 1)");
  }
}

Var Dropout::forward(const Var& x) {
  return detail::named_errors(*this, [&] { return dropout(x, p_, is_training(), gen_); });
}

std::string Dropout::name() const { return "Dropout(p=" + number_text(p_) + ")"; }

}  // namespace affine::nn
