#include "affine/nn/init.hpp"

#include <cmath>
#include <string>

#include "affine/tensor/error.hpp"

namespace affine::nn::init {

namespace {

void check_float(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": undefined tensor");
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64) {
    throw Error(std::string(op) + ": expected a float32 or float64 tensor, got " +
                std::string(dtype_name(t.dtype())));
  }
}

int64_t fan(const Tensor& t, FanMode mode, const char* op) {
  check_float(t, op);
  Fans f{};
  try {
    f = compute_fans(t.shape());
  } catch (const Error& e) {
    throw Error(std::string(op) + ": " + e.what());
  }
  const int64_t n = mode == FanMode::fan_in ? f.fan_in : f.fan_out;
  if (n == 0) throw Error(std::string(op) + ": zero fan for shape " + to_string(t.shape()));
  return n;
}

}  // namespace

Fans compute_fans(const Shape& shape) {
  if (shape.size() < 2) {
    throw Error("compute_fans: fans need a weight of rank >= 2, got shape " + to_string(shape));
  }
  int64_t receptive = 1;
  for (int i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

Tensor& uniform_(Tensor& t, double low, double high, Generator& gen) {
  check_float(t, "init::uniform_");
  if (!(low <= high)) {
    throw Error("init::uniform_: low " + std::to_string(low) + " > high " + std::to_string(high));
  }
  t.copy_(Tensor::uniform(t.shape(), low, high, gen, t.dtype()));
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std, Generator& gen) {
  check_float(t, "init::normal_");
  if (!(std >= 0)) throw Error("init::normal_: std must be >= 0, got " + std::to_string(std));
  t.copy_(Tensor::normal(t.shape(), mean, std, gen, t.dtype()));
  return t;
}

Tensor& zeros_(Tensor& t) {
  check_float(t, "init::zeros_");
  t.fill_(0.0);
  return t;
}

Tensor& constant_(Tensor& t, double value) {
  check_float(t, "init::constant_");
  t.fill_(value);
  return t;
}

Tensor& glorot_uniform_(Tensor& t, Generator& gen, double gain) {
  fan(t, FanMode::fan_in, "init::glorot_uniform_");  // validates dtype and rank with this op's name
  const Fans f = compute_fans(t.shape());
  const double a = gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
  return uniform_(t, -a, a, gen);
}

Tensor& glorot_normal_(Tensor& t, Generator& gen, double gain) {
  fan(t, FanMode::fan_in, "init::glorot_normal_");  // validates dtype and rank with this op's name
  const Fans f = compute_fans(t.shape());
  const double s = gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out));
  return normal_(t, 0.0, s, gen);
}

Tensor& he_uniform_(Tensor& t, Generator& gen, FanMode mode, double gain) {
  const double a = gain * std::sqrt(3.0 / static_cast<double>(fan(t, mode, "init::he_uniform_")));
  return uniform_(t, -a, a, gen);
}

Tensor& he_normal_(Tensor& t, Generator& gen, FanMode mode, double gain) {
  const double s = gain / std::sqrt(static_cast<double>(fan(t, mode, "init::he_normal_")));
  return normal_(t, 0.0, s, gen);
}

Tensor& lecun_uniform_(Tensor& t, Generator& gen) {
  const double n = static_cast<double>(fan(t, FanMode::fan_in, "init::lecun_uniform_"));
  const double a = std::sqrt(3.0 / n);
  return uniform_(t, -a, a, gen);
}

Tensor& lecun_normal_(Tensor& t, Generator& gen) {
  const double n = static_cast<double>(fan(t, FanMode::fan_in, "init::lecun_normal_"));
  return normal_(t, 0.0, 1.0 / std::sqrt(n), gen);
}

void linear_default_(Tensor& weight, Tensor& bias, Generator& gen) {
  const double a =
      1.0 / std::sqrt(static_cast<double>(fan(weight, FanMode::fan_in, "init::linear_default_")));
  uniform_(weight, -a, a, gen);
  if (bias.defined()) uniform_(bias, -a, a, gen);
}

}  // namespace affine::nn::init
