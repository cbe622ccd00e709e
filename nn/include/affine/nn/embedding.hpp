// Embedding, as torch.nn.Embedding: a trainable lookup table of vectors.
#pragma once

#include <cstdint>
#include <string>

#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"

namespace affine::nn {

/// A lookup table of num_embeddings vectors of size embedding_dim: forward takes int64 indices
/// of any shape (as a Var holding an int64 tensor) and returns indices.shape + [embedding_dim].
/// Weight initialised from N(0, 1), as PyTorch.
class AFFINE_API Embedding : public Module {
 public:
  /// Draws the weight from gen.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen,
            DType dtype = DType::f32);
  /// Draws from affine::default_generator(), as Linear (manual_seed(n) reproduces it).
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  /// Throws affine::Error naming the layer for non-int64 input or an index out of range.
  Var forward(const Var& indices) override;
  /// "Embedding(10, 4)".
  std::string name() const override;

  Parameter weight;  ///< [num_embeddings, embedding_dim]

 private:
  void init(Generator& gen, DType dtype);
  int64_t num_;
  int64_t dim_;
};

}  // namespace affine::nn
