// concat: joins tensors along one dimension. Not arithmetic, so every dtype (int64 included) is
// accepted; the copy goes through strided.hpp rather than Tensor::copy_ so that each input is read
// once by rows whatever its layout, and nothing is converted.
#include <cstdint>
#include <cstring>
#include <string>

#include "affine/tensor/internal/dispatch.hpp"
#include "affine/tensor/internal/strided.hpp"
#include "affine/tensor/ops.hpp"

namespace affine {

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  const char* op = "concat";
  if (tensors.empty()) throw Error("concat: no tensors to join");
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) {
      throw Error("concat: tensor " + std::to_string(i) + " is an undefined tensor");
    }
  }
  const Tensor& first = tensors[0];
  const int rank = first.rank();
  if (rank == 0) throw Error("concat: tensor 0 has rank 0; rank-0 tensors cannot be joined");
  const int d = normalize_axis(dim, rank, op);
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    const std::string which = " (tensor " + std::to_string(i) + ")";
    if (t.dtype() != first.dtype()) {
      throw Error("concat: dtypes " + std::string(dtype_name(first.dtype())) + " (tensor 0) and " +
                  std::string(dtype_name(t.dtype())) + which + " differ (convert with Tensor::to)");
    }
    bool same = t.rank() == rank;
    int bad = -1;
    for (int k = 0; same && k < rank; ++k) {
      if (k != d && t.shape()[k] != first.shape()[k]) {
        same = false;
        bad = k;
      }
    }
    if (!same) {
      throw Error("concat: shapes " + to_string(first.shape()) + " (tensor 0) and " +
                  to_string(t.shape()) + which + " cannot be joined along dimension " +
                  std::to_string(d) +
                  (bad >= 0 ? " (dimension " + std::to_string(bad) + " differs)"
                            : std::string(" (ranks differ)")));
    }
    out_shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(out_shape, first.dtype());
  if (out.numel() == 0) return out;
  detail::visit_dtype(first.dtype(), [&](auto tag) {
    using T = AFFINE_T(tag);
    T* po = out.data<T>();
    int64_t start = 0;  // position of the current input along d in the output
    for (const Tensor& t : tensors) {
      if (t.numel() > 0) {
        T* dst = po + start * out.strides()[d];
        const T* src = t.data<T>();
        detail::for_each_row<2>(
            t.shape(), {out.strides(), t.strides()},
            [&](const detail::Offsets<2>& off, int64_t n, const detail::Offsets<2>& inc) {
              T* o = dst + off[0];
              const T* x = src + off[1];
              if (inc[0] == 1 && inc[1] == 1) {
                std::memcpy(o, x, static_cast<size_t>(n) * sizeof(T));
              } else {
                for (int64_t i = 0; i < n; ++i) o[i * inc[0]] = x[i * inc[1]];
              }
            });
      }
      start += t.shape()[d];
    }
  });
  return out;
}

}  // namespace affine
