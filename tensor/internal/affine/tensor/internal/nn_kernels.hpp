// Internal: the forward and backward kernels of the neural-network ops (convolution, pooling,
// normalisation, dropout) that autograd's conv2d, max_pool2d, ... record. Tensors are NCHW, float32
// or float64; every function takes contiguous inputs (callers make them so) and writes new
// contiguous outputs, or accumulates into a caller's buffer where it says so.
//
// Convolution is im2col + GEMM, one sample at a time: the sample's patches are unfolded into a
// [C/groups * kh * kw, OH * OW] column matrix (a buffer from the caching allocator, so a training
// loop allocates nothing in steady state), and each group's output is one GEMM with the weight
// viewed as [O/groups, C/groups * kh * kw]. One sample's columns stay in L2 for the GEMM that
// reads them, which an unfolding of the whole batch would not.
#pragma once

#include <cstdint>
#include <string>

#include "affine/tensor/random.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::detail {

/// Sizes of one 2-D convolution or pooling window over an NCHW input.
struct Window2d {
  int64_t batch = 0, channels = 0, height = 0, width = 0;  ///< input [N, C, H, W]
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t out_h = 0, out_w = 0;  ///< derived by window_2d()
};

/// Checks the window against input [N, C, H, W] and fills out_h, out_w. Throws affine::Error
/// naming who (e.g. "conv2d" or "Conv2d(1, 16, kernel_size=3)") and the shapes when the input is
/// not 4-D, a size is not positive, padding is negative, or the (dilated) kernel is larger than
/// the padded input. ceil_mode (pooling): out sizes round up instead of down, as PyTorch's, except
/// that a last window starting in the right padding is dropped.
Window2d window_2d(const std::string& who, const Shape& input, int64_t kernel_h, int64_t kernel_w,
                   int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,
                   int64_t dilation_h, int64_t dilation_w, bool ceil_mode = false);

/// y = conv2d(x, w) + b: x [N, C, H, W], w [O, C/groups, kh, kw], b [O] or undefined.
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Window2d& g,
                      int64_t groups);

/// Backward of conv2d given dy [N, O, OH, OW]. Each output pointer may be null (not needed).
/// dx: written (a new tensor). dw, db: accumulated into (+=) the given contiguous buffers,
/// which the caller has zeroed or which hold an earlier gradient.
void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Window2d& g,
                     int64_t groups, Tensor* dx, Tensor* dw, Tensor* db);

/// Max pooling: returns y [N, C, OH, OW] and sets indices (int64, same shape) to the flat
/// position (ih * W + iw) in the input plane of each window's first maximum. Padding counts as
/// -infinity (never chosen).
Tensor max_pool2d_forward(const Tensor& x, const Window2d& g, Tensor& indices);
/// dx [N, C, H, W] from dy and the forward's indices.
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Window2d& g);

/// Average pooling. count_include_pad: divide by the whole window (PyTorch's default) or only by
/// the input elements it covers.
Tensor avg_pool2d_forward(const Tensor& x, const Window2d& g, bool count_include_pad);
Tensor avg_pool2d_backward(const Tensor& dy, const Window2d& g, bool count_include_pad);

/// Adaptive average pooling of [N, C, H, W] to [N, C, out_h, out_w]: output cell (i, j) averages
/// rows [floor(i H / out_h), ceil((i + 1) H / out_h)) and the same for columns, as PyTorch.
Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& input_shape);

/// Layer normalisation of rows of length m: x is [rows * m] contiguous; weight, bias [m] or
/// null. Writes y and, per row, mean and rstd = 1 / sqrt(biased variance + eps) into stats
/// [rows, 2].
Tensor layer_norm_forward(const Tensor& x, int64_t m, const Tensor& weight, const Tensor& bias,
                          double eps, Tensor& stats);
/// Backward of layer_norm: dx (new), and dweight / dbias accumulated (+=) into the given
/// contiguous [m] buffers when not null.
void layer_norm_backward(const Tensor& dy, const Tensor& x, int64_t m, const Tensor& weight,
                         const Tensor& stats, Tensor* dx, Tensor* dweight, Tensor* dbias);

/// Batch normalisation of x [N, C, S] (S = product of the dims after C; 1 for [N, C]) per
/// channel. batch_stats: statistics of this batch (and, when running_mean is defined, the
/// running statistics updated in place with momentum, the variance unbiased); otherwise the
/// running statistics. stats receives [C, 2]: the mean and rstd used.
Tensor batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                          Tensor& running_mean, Tensor& running_var, bool batch_stats,
                          double momentum, double eps, Tensor& stats);
/// Backward of batch_norm (batch_stats as in the forward): dx (new) and dweight / dbias
/// accumulated into the given contiguous [C] buffers when not null.
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                         const Tensor& stats, bool batch_stats, Tensor* dx, Tensor* dweight,
                         Tensor* dbias);

/// The inverted-dropout multiplier for each element of shape: 0 with probability p, else
/// 1 / (1 - p); one gen.uniform() draw per element in row-major order.
Tensor dropout_mask(const Shape& shape, DType dtype, double p, Generator& gen);

/// Elementwise binary cross-entropy -(y max(log p, -100) + (1 - y) max(log(1 - p), -100)) of p
/// and y, one shape and float dtype (the caller checks both): PyTorch's BCELoss before reduction.
/// float32 takes the logs from the vectorised log (vmath, <= 1 ulp), float64 from std::log.
Tensor binary_cross_entropy_forward(const Tensor& p, const Tensor& y);

}  // namespace affine::detail
