// Toy datasets, a train/test split and a batch iterator.
//
// Geometry follows scikit-learn (make_moons, make_circles) and the NYU Deep Learning course
// (Canziani's spiral), but the random numbers come from affine's Generator, so the points are not
// numerically equal to sklearn's for the same seed; every result is reproducible from its seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "affine/tensor/export.hpp"
#include "affine/tensor/random.hpp"
#include "affine/tensor/tensor.hpp"

namespace affine::nn::data {

/// Inputs and targets, one sample per row: `auto [X, y] = make_moons(200, 0.1, 42);`
struct AFFINE_API Dataset {
  Tensor x;
  Tensor y;
};

/// Two interleaving half circles, as sklearn.datasets.make_moons. n_out = n / 2 points on the
/// outer arc (cos t, sin t), t = linspace(0, pi, n_out), label 0; n_in = n - n_out on the inner arc
/// (1 - cos t, 1 - sin t - 0.5), t = linspace(0, pi, n_in), label 1. With shuffle the rows are
/// permuted (Fisher-Yates); then N(0, noise^2) is added to every coordinate, as sklearn does.
/// Returns x [n, 2] and y [n, 1] (0/1 labels), both float32. Throws affine::Error for n < 0 or
/// noise < 0.
AFFINE_API Dataset make_moons(int64_t n, double noise, Generator& gen, bool shuffle = true);
/// The same from Generator(seed).
AFFINE_API Dataset make_moons(int64_t n, double noise = 0.0, uint64_t seed = 0,
                              bool shuffle = true);

/// Two concentric circles, as sklearn.datasets.make_circles: n / 2 points on the unit circle
/// (label 0) and the rest on a circle of radius factor (label 1), angles linspace(0, 2 pi) without
/// the endpoint; shuffled, then N(0, noise^2) noise. x [n, 2], y [n, 1], float32. Throws
/// affine::Error unless 0 <= factor < 1.
AFFINE_API Dataset make_circles(int64_t n, double noise, double factor, Generator& gen,
                                bool shuffle = true);
AFFINE_API Dataset make_circles(int64_t n, double noise = 0.0, double factor = 0.8,
                                uint64_t seed = 0, bool shuffle = true);

/// The multi-class spiral of the NYU Deep Learning course (A. Canziani, "spiral classification"):
/// for class c of C and i < points_per_class, radius r = i / (points_per_class - 1) (linspace(0,
/// 1)), angle a = linspace(2 pi c / C, 2 pi (c + 2) / C)[i] + noise * N(0, 1), point r (sin a, cos
/// a). The course uses noise = 0.2. Rows are ordered by class (not shuffled). x [C * ppc, 2]
/// float32, y [C * ppc] int64 class indices (what cross_entropy takes). Throws affine::Error for
/// points_per_class < 1 or classes < 1.
AFFINE_API Dataset make_spiral(int64_t points_per_class, int64_t classes, Generator& gen,
                               double noise = 0.2);
AFFINE_API Dataset make_spiral(int64_t points_per_class, int64_t classes, uint64_t seed = 0,
                               double noise = 0.2);

/// A random split of rows, as sklearn's train_test_split: n_test = ceil(test_fraction * n),
/// the rest for training, rows chosen by a permutation from gen.
struct AFFINE_API Split {
  Tensor x_train;
  Tensor y_train;
  Tensor x_test;
  Tensor y_test;
};
/// Throws affine::Error when x and y have different row counts or test_fraction is outside [0, 1].
AFFINE_API Split train_test_split(const Tensor& x, const Tensor& y, double test_fraction,
                                  Generator& gen);
AFFINE_API Split train_test_split(const Tensor& x, const Tensor& y, double test_fraction,
                                  uint64_t seed = 0);

/// A random permutation of 0..n-1 (Fisher-Yates drawing from gen), as torch.randperm; DataLoader
/// shuffles with it. Throws affine::Error for n < 0.
AFFINE_API std::vector<int64_t> randperm(int64_t n, Generator& gen);

/// The rows of t (any dtype, rank >= 1) at the given indices, as a new contiguous tensor.
/// Throws affine::Error for an index out of range.
AFFINE_API Tensor take_rows(const Tensor& t, const std::vector<int64_t>& rows);

/// Options of a DataLoader.
struct AFFINE_API LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;     ///< a fresh permutation every epoch
  bool drop_last = false;  ///< drop the last batch when it is smaller than batch_size
  uint64_t seed = 0;       ///< seeds the permutations: the sequence of epochs is reproducible
};

/// One mini-batch: contiguous rows of x and y.
struct AFFINE_API Batch {
  Tensor x;
  Tensor y;
};

/// Mini-batches of (x, y) rows, as torch.utils.data.DataLoader:
///   DataLoader loader(X, y, {.batch_size = 32, .seed = 1});
///   for (int epoch = 0; epoch < 10; ++epoch)
///     for (auto [xb, yb] : loader) { ... }
/// Each begin() starts a new epoch: with shuffle it draws the next permutation from the loader's
/// Generator, so consecutive epochs differ and a loader built with the same seed repeats the same
/// sequence of epochs. Every sample appears exactly once per epoch (minus the dropped tail).
class AFFINE_API DataLoader {
 public:
  /// Throws affine::Error when x and y have different row counts or batch_size < 1.
  DataLoader(Tensor x, Tensor y, LoaderOptions options = {});

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Batch;
    iterator() = default;
    Batch operator*() const;
    iterator& operator++() {
      ++batch_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++batch_;
      return old;
    }
    bool operator==(const iterator& other) const { return batch_ == other.batch_; }

   private:
    friend class DataLoader;
    iterator(const DataLoader* loader, int64_t batch) : loader_(loader), batch_(batch) {}
    const DataLoader* loader_ = nullptr;
    int64_t batch_ = 0;
  };

  /// Starts a new epoch (reshuffling when shuffle is on).
  iterator begin();
  iterator end() const { return {this, num_batches()}; }
  /// Batches per epoch.
  int64_t num_batches() const;
  int64_t size() const { return num_batches(); }
  /// Samples in the dataset.
  int64_t num_samples() const { return x_.size(0); }
  /// Epochs started so far (calls of begin()).
  int64_t epoch() const { return epoch_; }
  /// The sample order of the current epoch.
  const std::vector<int64_t>& order() const { return order_; }
  const LoaderOptions& options() const { return options_; }

 private:
  Batch batch(int64_t b) const;
  Tensor x_;
  Tensor y_;
  LoaderOptions options_;
  Generator gen_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0;
};

}  // namespace affine::nn::data
