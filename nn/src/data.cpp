#include "affine/nn/data.hpp"

#include <cmath>
#include <cstring>
#include <numbers>
#include <numeric>
#include <string>
#include <utility>

#include "affine/tensor/error.hpp"

namespace affine::nn::data {

namespace {

// sklearn's np.linspace(start, stop, n, endpoint): the same spacing formula, so the points sit at
// the same angles as scikit-learn's.
double linspace_at(double start, double stop, int64_t n, int64_t i, bool endpoint = true) {
  const int64_t div = endpoint ? n - 1 : n;
  if (div <= 0) return start;
  const double step = (stop - start) / static_cast<double>(div);
  if (endpoint && i == n - 1) return stop;
  return start + static_cast<double>(i) * step;
}

char* bytes(Tensor& t) {
  switch (t.dtype()) {
    case DType::f32:
      return reinterpret_cast<char*>(t.data<float>());
    case DType::f64:
      return reinterpret_cast<char*>(t.data<double>());
    case DType::i64:
      return reinterpret_cast<char*>(t.data<int64_t>());
  }
  return nullptr;
}

const char* bytes(const Tensor& t) {
  switch (t.dtype()) {
    case DType::f32:
      return reinterpret_cast<const char*>(t.data<float>());
    case DType::f64:
      return reinterpret_cast<const char*>(t.data<double>());
    case DType::i64:
      return reinterpret_cast<const char*>(t.data<int64_t>());
  }
  return nullptr;
}

// Points (xs, ys) with labels, optionally shuffled, then noise added in row order (as sklearn).
Dataset finish(std::vector<double> xs, std::vector<double> ys, std::vector<double> labels,
               double noise, Generator& gen, bool shuffle) {
  const auto n = static_cast<int64_t>(xs.size());
  std::vector<double> x(static_cast<size_t>(2 * n));
  std::vector<double> y(static_cast<size_t>(n));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle) order = randperm(n, gen);
  for (int64_t r = 0; r < n; ++r) {
    const auto src = static_cast<size_t>(order[static_cast<size_t>(r)]);
    const auto dst = static_cast<size_t>(r);
    x[2 * dst] = xs[src];
    x[2 * dst + 1] = ys[src];
    y[dst] = labels[src];
  }
  if (noise > 0) {
    for (double& v : x) v += gen.normal(0.0, noise);
  }
  return {Tensor::from_vector(x, {n, 2}).to(DType::f32),
          Tensor::from_vector(y, {n, 1}).to(DType::f32)};
}

void check_common(const char* op, int64_t n, double noise) {
  if (n < 0) throw Error(std::string(op) + ": n must be >= 0, got " + std::to_string(n));
  if (!(noise >= 0)) {
    throw Error(std::string(op) + ": noise must be >= 0, got " + std::to_string(noise));
  }
}

}  // namespace

std::vector<int64_t> randperm(int64_t n, Generator& gen) {
  if (n < 0) throw Error("randperm: n must be >= 0, got " + std::to_string(n));
  // Fisher-Yates, from the last position down.
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(gen.below(static_cast<uint64_t>(i) + 1));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

Dataset make_moons(int64_t n, double noise, Generator& gen, bool shuffle) {
  check_common("make_moons", n, noise);
  const int64_t n_out = n / 2;
  const int64_t n_in = n - n_out;
  std::vector<double> xs, ys, labels;
  xs.reserve(static_cast<size_t>(n));
  ys.reserve(static_cast<size_t>(n));
  labels.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n_out; ++i) {
    const double t = linspace_at(0, std::numbers::pi, n_out, i);
    xs.push_back(std::cos(t));
    ys.push_back(std::sin(t));
    labels.push_back(0);
  }
  for (int64_t i = 0; i < n_in; ++i) {
    const double t = linspace_at(0, std::numbers::pi, n_in, i);
    xs.push_back(1 - std::cos(t));
    ys.push_back(1 - std::sin(t) - 0.5);
    labels.push_back(1);
  }
  return finish(std::move(xs), std::move(ys), std::move(labels), noise, gen, shuffle);
}

Dataset make_moons(int64_t n, double noise, uint64_t seed, bool shuffle) {
  Generator gen(seed);
  return make_moons(n, noise, gen, shuffle);
}

Dataset make_circles(int64_t n, double noise, double factor, Generator& gen, bool shuffle) {
  check_common("make_circles", n, noise);
  if (!(factor >= 0 && factor < 1)) {
    throw Error("make_circles: factor must lie in [0, 1), got " + std::to_string(factor));
  }
  const int64_t n_out = n / 2;
  const int64_t n_in = n - n_out;
  std::vector<double> xs, ys, labels;
  for (int64_t i = 0; i < n_out; ++i) {
    const double t = linspace_at(0, 2 * std::numbers::pi, n_out, i, /*endpoint=*/false);
    xs.push_back(std::cos(t));
    ys.push_back(std::sin(t));
    labels.push_back(0);
  }
  for (int64_t i = 0; i < n_in; ++i) {
    const double t = linspace_at(0, 2 * std::numbers::pi, n_in, i, /*endpoint=*/false);
    xs.push_back(factor * std::cos(t));
    ys.push_back(factor * std::sin(t));
    labels.push_back(1);
  }
  return finish(std::move(xs), std::move(ys), std::move(labels), noise, gen, shuffle);
}

Dataset make_circles(int64_t n, double noise, double factor, uint64_t seed, bool shuffle) {
  Generator gen(seed);
  return make_circles(n, noise, factor, gen, shuffle);
}

Dataset make_spiral(int64_t points_per_class, int64_t classes, Generator& gen, double noise) {
  if (points_per_class < 1 || classes < 1) {
    throw Error("make_spiral: points_per_class and classes must be >= 1, got " +
                std::to_string(points_per_class) + " and " + std::to_string(classes));
  }
  if (!(noise >= 0)) throw Error("make_spiral: noise must be >= 0, got " + std::to_string(noise));
  const int64_t n = points_per_class * classes;
  std::vector<double> x(static_cast<size_t>(2 * n));
  std::vector<int64_t> y(static_cast<size_t>(n));
  const double c_count = static_cast<double>(classes);
  for (int64_t c = 0; c < classes; ++c) {
    const double a0 = 2 * std::numbers::pi / c_count * static_cast<double>(c);
    const double a1 = 2 * std::numbers::pi / c_count * static_cast<double>(2 + c);
    for (int64_t i = 0; i < points_per_class; ++i) {
      const double r = linspace_at(0, 1, points_per_class, i);
      const double a = linspace_at(a0, a1, points_per_class, i) + noise * gen.normal();
      const auto row = static_cast<size_t>(c * points_per_class + i);
      x[2 * row] = r * std::sin(a);
      x[2 * row + 1] = r * std::cos(a);
      y[row] = c;
    }
  }
  return {Tensor::from_vector(x, {n, 2}).to(DType::f32), Tensor::from_vector(y, {n})};
}

Dataset make_spiral(int64_t points_per_class, int64_t classes, uint64_t seed, double noise) {
  Generator gen(seed);
  return make_spiral(points_per_class, classes, gen, noise);
}

Tensor take_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  if (!t.defined() || t.rank() < 1) {
    throw Error("take_rows: expected a tensor of rank >= 1, got " +
                (t.defined() ? to_string(t.shape()) : std::string("undefined")));
  }
  const Tensor src = t.contiguous();
  Shape shape = src.shape();
  const int64_t n = shape[0];
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(shape, src.dtype());
  const size_t row_bytes =
      static_cast<size_t>(n == 0 ? 0 : src.numel() / n) * dtype_size(src.dtype());
  if (row_bytes == 0) return out;
  const char* from = bytes(src);
  char* to = bytes(out);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t i = rows[r];
    if (i < 0 || i >= n) {
      throw Error("take_rows: row " + std::to_string(i) + " is out of range for shape " +
                  to_string(src.shape()));
    }
    std::memcpy(to + r * row_bytes, from + static_cast<size_t>(i) * row_bytes, row_bytes);
  }
  return out;
}

namespace {

void check_rows(const Tensor& x, const Tensor& y, const char* op) {
  if (!x.defined() || !y.defined() || x.rank() < 1 || y.rank() < 1 || x.size(0) != y.size(0)) {
    throw Error(std::string(op) + ": x and y need the same number of rows, got " +
                (x.defined() ? to_string(x.shape()) : std::string("undefined")) + " and " +
                (y.defined() ? to_string(y.shape()) : std::string("undefined")));
  }
}

}  // namespace

Split train_test_split(const Tensor& x, const Tensor& y, double test_fraction, Generator& gen) {
  check_rows(x, y, "train_test_split");
  if (!(test_fraction >= 0 && test_fraction <= 1)) {
    throw Error("train_test_split: test_fraction must lie in [0, 1], got " +
                std::to_string(test_fraction));
  }
  const int64_t n = x.size(0);
  const auto n_test = static_cast<int64_t>(std::ceil(test_fraction * static_cast<double>(n)));
  const std::vector<int64_t> p = randperm(n, gen);
  const std::vector<int64_t> test(p.begin(), p.begin() + n_test);
  const std::vector<int64_t> train(p.begin() + n_test, p.end());
  return {take_rows(x, train), take_rows(y, train), take_rows(x, test), take_rows(y, test)};
}

Split train_test_split(const Tensor& x, const Tensor& y, double test_fraction, uint64_t seed) {
  Generator gen(seed);
  return train_test_split(x, y, test_fraction, gen);
}

// ---- DataLoader -------------------------------------------------------------------------------

DataLoader::DataLoader(Tensor x, Tensor y, LoaderOptions options)
    : x_(std::move(x)), y_(std::move(y)), options_(options), gen_(options.seed) {
  check_rows(x_, y_, "DataLoader");
  if (options_.batch_size < 1) {
    throw Error("DataLoader: batch_size must be >= 1, got " + std::to_string(options_.batch_size));
  }
  // Made contiguous once, so unshuffled batches are views and shuffled ones plain row copies.
  x_ = x_.contiguous();
  y_ = y_.contiguous();
  order_.resize(static_cast<size_t>(x_.size(0)));
  std::iota(order_.begin(), order_.end(), int64_t{0});
}

DataLoader::iterator DataLoader::begin() {
  ++epoch_;
  if (options_.shuffle) order_ = randperm(x_.size(0), gen_);
  return {this, 0};
}

int64_t DataLoader::num_batches() const {
  const int64_t n = x_.size(0), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

Batch DataLoader::batch(int64_t b) const {
  const int64_t start = b * options_.batch_size;
  const int64_t stop = std::min(start + options_.batch_size, x_.size(0));
  if (!options_.shuffle) {
    return {x_.narrow(0, start, stop - start), y_.narrow(0, start, stop - start)};
  }
  const std::vector<int64_t> rows(order_.begin() + start, order_.begin() + stop);
  return {take_rows(x_, rows), take_rows(y_, rows)};
}

Batch DataLoader::iterator::operator*() const { return loader_->batch(batch_); }

}  // namespace affine::nn::data
