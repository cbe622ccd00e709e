// Argument checks and batch bookkeeping for the linalg functions (see batch.hpp).
#include "linalg/batch.hpp"

#include "affine/tensor/ops.hpp"

namespace affine::detail::linalg {

void check_matrix(const char* op, const Tensor& t, const char* name) {
  if (!t.defined()) throw Error(std::string(op) + ": " + name + " is an undefined tensor");
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64)
    throw Error(std::string(op) + ": " + name + " must be float32 or float64, got " +
                std::string(dtype_name(t.dtype())));
  if (t.rank() < 2)
    throw Error(std::string(op) + ": " + name +
                " must have at least 2 dimensions (a matrix), got shape " + to_string(t.shape()));
}

void check_square(const char* op, const Tensor& t, const char* name) {
  check_matrix(op, t, name);
  if (t.size(-1) != t.size(-2))
    throw Error(std::string(op) + ": " + name +
                " must be square (batches of n x n matrices), got shape " + to_string(t.shape()));
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw Error(std::string(op) + ": operands must have the same dtype, got " +
                std::string(dtype_name(a.dtype())) + " and " + std::string(dtype_name(b.dtype())));
}

Shape batch_shape(const Tensor& t, int trailing) {
  Shape s;
  for (int d = 0; d < t.rank() - trailing; ++d) s.push_back(t.size(d));
  return s;
}

Shape concat_shape(const Shape& batch, std::initializer_list<int64_t> tail) {
  Shape s = batch;
  for (int64_t v : tail) s.push_back(v);
  return s;
}

std::vector<int64_t> block_offsets(const Tensor& t, const Shape& batch, int trailing) {
  Shape full = batch;
  for (int d = t.rank() - trailing; d < t.rank(); ++d) full.push_back(t.size(d));
  const Tensor e = t.expand(full);
  const int64_t count = shape_numel(batch);
  std::vector<int64_t> out(static_cast<size_t>(count));
  const int r = batch.size();
  for (int64_t b = 0; b < count; ++b) {
    int64_t rem = b, off = 0;
    for (int d = r - 1; d >= 0; --d) {
      off += rem % batch[d] * e.strides()[d];
      rem /= batch[d];
    }
    out[static_cast<size_t>(b)] = off;
  }
  return out;
}

Tensor fresh_copy(const Tensor& t, const Shape& shape) {
  Tensor out = Tensor::empty(shape, t.dtype());
  if (out.numel() > 0) out.copy_(t);
  return out;
}

std::string batch_suffix(int64_t index, int64_t count) {
  return count > 1 ? " (batch element " + std::to_string(index) + ")" : "";
}

}  // namespace affine::detail::linalg
