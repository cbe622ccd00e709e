// The digits CNN, shared by the example and bench/nn_bench:
//   Conv2d(1, 16, 3, padding 1) - ReLU - MaxPool2d(2)     [N, 16, 4, 4]
//   Conv2d(16, 32, 3, padding 1) - ReLU - MaxPool2d(2)    [N, 32, 2, 2]
//   Flatten - Linear(128, 10)                             logits
#pragma once

#include <affine/affine.hpp>

namespace digits {

/// The network with its initial weights drawn from gen.
inline affine::nn::Sequential make_model(affine::Generator& gen) {
  namespace nn = affine::nn;
  return nn::Sequential{nn::Conv2d(1, 16, 3, {.padding = 1}, gen),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Conv2d(16, 32, 3, {.padding = 1}, gen),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Flatten(),
                        nn::Linear(32 * 2 * 2, 10, gen)};
}

}  // namespace digits
