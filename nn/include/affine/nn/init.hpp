// Weight initialisers, named for what they are, each filling a tensor in place from an explicit
// Generator (same seed, same weights). Fans follow PyTorch's _calculate_fan_in_and_fan_out for a
// weight of shape [out, in, k...]: receptive = prod(k...), fan_in = in * receptive,
// fan_out = out * receptive (a Linear weight [out, in] has fan_in = in, fan_out = out).
//
//   formula                     uniform U(-a, a)                      normal N(0, std^2)
//   Glorot / Xavier             a = gain sqrt(6 / (fan_in + fan_out)) std = gain sqrt(2 / (fan_in +
//   fan_out)) He / Kaiming (fan = mode)   a = gain sqrt(3 / fan)                std = gain /
//   sqrt(fan) LeCun                       a = sqrt(3 / fan_in)                  std = 1 /
//   sqrt(fan_in)
//
// He's default gain is sqrt(2) (ReLU), as PyTorch's kaiming_*_ with a = 0, so He uniform is
// U(-sqrt(6 / fan_in), sqrt(6 / fan_in)); LeCun is He with gain 1 (variance 1 / fan_in). The normal
// variants draw from a plain (untruncated) normal, as PyTorch does.
#pragma once

#include <cmath>
#include <cstdint>

#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::nn::init {

/// fan_in and fan_out of a weight.
struct AFFINE_API Fans {
  int64_t fan_in;
  int64_t fan_out;
};

/// Fans of a weight shape as above; throws affine::Error for rank < 2 (as PyTorch).
AFFINE_API Fans compute_fans(const Shape& shape);

/// Which fan He initialisation scales by: fan_in preserves forward variance, fan_out backward.
enum class FanMode { fan_in, fan_out };

/// U(low, high) in place (low <= high).
AFFINE_API Tensor& uniform_(Tensor& t, double low, double high, Generator& gen);
/// N(mean, std^2) in place (std >= 0).
AFFINE_API Tensor& normal_(Tensor& t, double mean, double std, Generator& gen);
/// All zeros.
AFFINE_API Tensor& zeros_(Tensor& t);
/// All value.
AFFINE_API Tensor& constant_(Tensor& t, double value);

/// Glorot & Bengio (2010): U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).
AFFINE_API Tensor& glorot_uniform_(Tensor& t, Generator& gen, double gain = 1.0);
/// Glorot & Bengio (2010): N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).
AFFINE_API Tensor& glorot_normal_(Tensor& t, Generator& gen, double gain = 1.0);
/// He et al. (2015): U(-a, a), a = gain sqrt(3 / fan).
AFFINE_API Tensor& he_uniform_(Tensor& t, Generator& gen, FanMode mode = FanMode::fan_in,
                               double gain = std::sqrt(2.0));
/// He et al. (2015): N(0, std^2), std = gain / sqrt(fan).
AFFINE_API Tensor& he_normal_(Tensor& t, Generator& gen, FanMode mode = FanMode::fan_in,
                              double gain = std::sqrt(2.0));
/// LeCun (1998): U(-a, a), a = sqrt(3 / fan_in).
AFFINE_API Tensor& lecun_uniform_(Tensor& t, Generator& gen);
/// LeCun (1998): N(0, std^2), std = 1 / sqrt(fan_in).
AFFINE_API Tensor& lecun_normal_(Tensor& t, Generator& gen);

/// PyTorch's names for the same functions.
inline Tensor& xavier_uniform_(Tensor& t, Generator& gen, double gain = 1.0) {
  return glorot_uniform_(t, gen, gain);
}
inline Tensor& xavier_normal_(Tensor& t, Generator& gen, double gain = 1.0) {
  return glorot_normal_(t, gen, gain);
}
inline Tensor& kaiming_uniform_(Tensor& t, Generator& gen, FanMode mode = FanMode::fan_in,
                                double gain = std::sqrt(2.0)) {
  return he_uniform_(t, gen, mode, gain);
}
inline Tensor& kaiming_normal_(Tensor& t, Generator& gen, FanMode mode = FanMode::fan_in,
                               double gain = std::sqrt(2.0)) {
  return he_normal_(t, gen, mode, gain);
}

/// torch.nn.Linear's default: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) where
/// fan_in is the weight's (this is kaiming_uniform_ with a = sqrt(5)). bias may be undefined.
AFFINE_API void linear_default_(Tensor& weight, Tensor& bias, Generator& gen);

}  // namespace affine::nn::init
