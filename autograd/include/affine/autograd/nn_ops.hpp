// Differentiable neural-network operations: convolution, pooling, dropout, normalisation and
// embedding lookups, with the semantics of torch.nn.functional. Tensors are NCHW (batch,
// channels, height, width); float32 or float64. Like the ops of ops.hpp, each records a node when
// an input is on a recording tape, and its vector-Jacobian product sits beside its forward in
// autograd/src. Errors are affine::Error naming the op and the shapes.
#pragma once

#include <cstdint>

#include "affine/autograd/var.hpp"
#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"
#include "affine/tensor/shape.hpp"

namespace affine {

/// A pair (height, width) of sizes; one number means both: Size2(3) is 3x3.
struct Size2 {
  int64_t h = 0;
  int64_t w = 0;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor)
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
};

/// 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], weight [O, C/groups, kh, kw],
/// bias [O] or undefined. Output [N, O, OH, OW] with OH = (H + 2 pad - dilation (kh - 1) - 1) /
/// stride + 1. Runs as im2col + GEMM per sample; backward gives dx, dweight and dbias (the last two
/// accumulated straight into Parameter::grad). Throws affine::Error naming "conv2d" and the shapes
/// for a channel count that does not match the weight, groups that do not divide C and O, or a
/// kernel larger than the padded input.
AFFINE_API Var conv2d(const Var& x, const Var& weight, const Var& bias = Var(), Size2 stride = 1,
                      Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);

/// Max over each kernel window (padding never wins; stride defaults to the kernel size as in
/// PyTorch when given as 0). The gradient goes to each window's first maximum. PyTorch's rule
/// padding <= kernel / 2 is enforced. ceil_mode: the output size rounds up (a last, partial
/// window at the bottom and right), as PyTorch's ceil_mode.
AFFINE_API Var max_pool2d(const Var& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                          Size2 dilation = 1, bool ceil_mode = false);

/// Mean over each kernel window; count_include_pad divides by the whole window (PyTorch's
/// default) rather than the part inside the input.
AFFINE_API Var avg_pool2d(const Var& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                          bool count_include_pad = true);

/// Average pooling to a fixed output size: cell (i, j) averages input rows
/// [floor(i H / OH), ceil((i + 1) H / OH)) and likewise columns.
AFFINE_API Var adaptive_avg_pool2d(const Var& x, Size2 output_size);

/// Inverted dropout: in training, zeroes each element with probability p (draws from gen) and
/// scales the survivors by 1 / (1 - p); otherwise (training false) returns x. p in [0, 1).
AFFINE_API Var dropout(const Var& x, double p, bool training, Generator& gen);

/// Layer normalisation over the last normalized_shape.size() dimensions (which must equal
/// normalized_shape): (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
/// weight and bias have shape normalized_shape, or are undefined (no affine transform).
AFFINE_API Var layer_norm(const Var& x, const Shape& normalized_shape, const Var& weight = Var(),
                          const Var& bias = Var(), double eps = 1e-5);

/// Batch normalisation of x [N, C] or [N, C, *] per channel C. training: normalises by the
/// batch's mean and biased variance and, when running_mean / running_var are defined, updates
/// them in place as PyTorch: running = (1 - momentum) running + momentum * batch statistic, the
/// variance unbiased (n / (n - 1)). Not training: normalises by the running statistics (which
/// must be defined). weight, bias: [C] or undefined.
AFFINE_API Var batch_norm(const Var& x, Tensor running_mean, Tensor running_var, const Var& weight,
                          const Var& bias, bool training, double momentum = 0.1, double eps = 1e-5);

/// Rows of weight [num, dim] picked by int64 indices of any shape: output indices.shape + [dim].
/// The gradient scatters-adds into the picked rows. Throws affine::Error for an index outside
/// [0, num), naming the index and its position.
AFFINE_API Var embedding(const Tensor& indices, const Var& weight);

}  // namespace affine
