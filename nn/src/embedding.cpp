#include "affine/nn/embedding.hpp"

#include <cstdio>
#include <string>

#include "affine/autograd/nn_ops.hpp"
#include "affine/nn/init.hpp"
#include "affine/tensor/error.hpp"
#include "layer_util.hpp"

namespace affine::nn {

using detail::number_text;

// ---- Embedding ------------------------------------------------------------------------------

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen, DType dtype)
    : num_(num_embeddings), dim_(embedding_dim) {
  init(gen, dtype);
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim)
    : num_(num_embeddings), dim_(embedding_dim) {
  init(default_generator(), DType::f32);
}

void Embedding::init(Generator& gen, DType dtype) {
  if (num_ < 1 || dim_ < 1) throw Error(name() + ": sizes must be positive");
  if (dtype != DType::f32 && dtype != DType::f64) {
    throw Error(name() + ": dtype must be float32 or float64");
  }
  Tensor w = Tensor::empty({num_, dim_}, dtype);
  init::normal_(w, 0, 1, gen);
  weight = Parameter(w);
  register_parameter("weight", weight);
}

Var Embedding::forward(const Var& indices) {
  return detail::named_errors(
      *this, [&] { return embedding(indices.value(), bind_param(weight, indices)); });
}

std::string Embedding::name() const {
  return "Embedding(" + std::to_string(num_) + ", " + std::to_string(dim_) + ")";
}

}  // namespace affine::nn
