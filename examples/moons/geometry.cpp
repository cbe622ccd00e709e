// The network's geometry from its weights: stage-by-stage forward pass, the SVD of every Linear
// (with a sign convention that keeps the factors continuous over epochs), PCA of the hidden layer.
#include "geometry.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include <nlohmann/json.hpp>

namespace moons {
namespace {

using affine::DType;
using affine::Error;
using affine::Tensor;

struct Expected {
  const char* name;
  affine::Shape shape;
};
const std::array<Expected, 6> kLayout = {{{"0.weight", {kHidden, 2}},
                                          {"0.bias", {kHidden}},
                                          {"2.weight", {2, kHidden}},
                                          {"2.bias", {2}},
                                          {"4.weight", {1, 2}},
                                          {"4.bias", {1}}}};

std::string shape_str(const affine::Shape& s) {
  std::string out = "[";
  for (int i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::vector<double> doubles(const Tensor& t) {
  return t.contiguous().to(DType::f64).to_vector<double>();
}

// Throws unless every element is finite, naming the first bad one.
void check_finite(const Tensor& t, const std::string& source, const std::string& name) {
  const auto v = doubles(t);
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw Error(source + ": " + name + " holds a non-finite value (" + std::to_string(v[i]) +
                  " at flat index " + std::to_string(i) + "): the network's geometry is undefined");
}

SeedWeights assemble(std::array<Tensor, 6> t) {
  return {std::move(t[0]), std::move(t[1]), std::move(t[2]),
          std::move(t[3]), std::move(t[4]), std::move(t[5])};
}

double det2(const std::vector<double>& m) { return m[0] * m[3] - m[1] * m[2]; }

// Flips the sign of singular triple i: column i of U [m, k] and row i of Vh [k, n].
void flip(std::vector<double>& U, std::vector<double>& Vh, int64_t m, int64_t k, int64_t n,
          int64_t i) {
  for (int64_t r = 0; r < m; ++r) U[r * k + i] = -U[r * k + i];
  for (int64_t c = 0; c < n; ++c) Vh[i * n + c] = -Vh[i * n + c];
}

}  // namespace

SeedWeights seed_weights(const std::vector<float>& flat, const std::string& source) {
  if (static_cast<int64_t>(flat.size()) != kSeedWeightCount)
    throw Error(source + ": expected the seed network's " + std::to_string(kSeedWeightCount) +
                " weights, got " + std::to_string(flat.size()));
  std::array<Tensor, 6> t;
  size_t at = 0;
  for (size_t k = 0; k < kLayout.size(); ++k) {
    const size_t n = static_cast<size_t>(affine::shape_numel(kLayout[k].shape));
    t[k] =
        Tensor::from_vector(std::vector<float>(flat.begin() + static_cast<std::ptrdiff_t>(at),
                                               flat.begin() + static_cast<std::ptrdiff_t>(at + n)),
                            kLayout[k].shape);
    check_finite(t[k], source, kLayout[k].name);
    at += n;
  }
  return assemble(std::move(t));
}

SeedWeights seed_weights(const affine::nn::NamedTensors& named, const std::string& source) {
  std::array<Tensor, 6> t;
  for (size_t k = 0; k < kLayout.size(); ++k) {
    const auto it = std::find_if(named.begin(), named.end(),
                                 [&](const auto& e) { return e.first == kLayout[k].name; });
    if (it == named.end())
      throw Error(source + ": no tensor '" + kLayout[k].name +
                  "' (not a 2-100-2-1 Sequential of Linear, Tanh, Linear, Tanh, Linear, Sigmoid)");
    if (it->second.shape() != kLayout[k].shape)
      throw Error(source + ": '" + kLayout[k].name + "' has shape " +
                  shape_str(it->second.shape()) + ", expected " + shape_str(kLayout[k].shape) +
                  " for the 2-100-2-1 network");
    if (it->second.dtype() == DType::i64)
      throw Error(source + ": '" + kLayout[k].name + "' holds integers, expected floats");
    t[k] = it->second.contiguous().to(DType::f32);
    check_finite(t[k], source, std::string("'") + kLayout[k].name + "'");
  }
  return assemble(std::move(t));
}

SeedWeights load_seed_weights(const std::string& path) {
  return seed_weights(affine::nn::load_safetensors(path).tensors, path);
}

Stages forward_stages(const SeedWeights& w, const Tensor& x) {
  if (x.rank() != 2 || x.size(1) != 2)
    throw Error("forward_stages: points must be [n, 2], got " + shape_str(x.shape()));
  Stages s;
  s.pre1 = affine::matmul(x, w.w0.transpose(0, 1)) + w.b0;
  s.hidden = affine::tanh(s.pre1);
  s.pre2 = affine::matmul(s.hidden, w.w2.transpose(0, 1)) + w.b2;
  s.embedding = affine::tanh(s.pre2);
  s.logit = affine::matmul(s.embedding, w.w4.transpose(0, 1)) + w.b4;
  s.p = affine::sigmoid(s.logit);
  return s;
}

LinearSvd decompose(const std::string& name, const Tensor& weight) {
  if (weight.rank() != 2)
    throw Error("decompose: layer " + name + "'s weight must be a matrix, got shape " +
                shape_str(weight.shape()));
  check_finite(weight, "decompose", "layer " + name + "'s weight");
  const int64_t m = weight.size(0), n = weight.size(1), k = std::min(m, n);
  const auto f = affine::linalg::svd(weight, /*full_matrices=*/false);
  std::vector<double> U = doubles(f.U), S = doubles(f.S), Vh = doubles(f.Vh);
  // The sign convention (see the header): canonical on the 2-D side, input side first.
  if (n == 2) {
    if (Vh[0] < 0 || (Vh[0] == 0 && Vh[1] < 0)) flip(U, Vh, m, k, n, 0);
    if (k == 2 && det2(Vh) < 0) flip(U, Vh, m, k, n, 1);
  } else if (m == 2) {
    if (U[0] < 0 || (U[0] == 0 && U[k] < 0)) flip(U, Vh, m, k, n, 0);
    if (k == 2 && det2(U) < 0) flip(U, Vh, m, k, n, 1);
  }
  LinearSvd out;
  out.name = name;
  out.U = Tensor::from_vector(U, {m, k}).to(weight.dtype());
  out.S = Tensor::from_vector(S, {k}).to(weight.dtype());
  out.Vh = Tensor::from_vector(Vh, {k, n}).to(weight.dtype());
  out.singular_values = S;
  if (m == 2) {
    out.u_angle = std::atan2(U[k], U[0]);
    out.u_reflects = k == 2 && det2(U) < 0;
  }
  if (n == 2) {
    out.v_angle = std::atan2(Vh[1], Vh[0]);
    out.v_reflects = k == 2 && det2(Vh) < 0;
  }
  return out;
}

Pca pca(const Tensor& x, int64_t k) {
  if (x.rank() != 2) throw Error("pca: rows must form a matrix, got shape " + shape_str(x.shape()));
  const int64_t n = x.size(0), d = x.size(1);
  if (n < 2) throw Error("pca: need at least 2 rows, got " + std::to_string(n));
  if (k < 1 || k > d)
    throw Error("pca: asked for " + std::to_string(k) + " components of " + std::to_string(d) +
                "-D rows");
  const Tensor x64 = x.contiguous().to(DType::f64);
  Pca p;
  p.mean = affine::mean(x64, {0});
  const Tensor xc = x64 - p.mean;
  const Tensor cov = affine::matmul(xc.transpose(0, 1), xc) * (1.0 / static_cast<double>(n - 1));
  const auto e = affine::linalg::eigh(cov);
  const auto w = doubles(e.eigenvalues);  // ascending
  const auto cv = doubles(cov);
  p.total = 0;
  for (int64_t i = 0; i < d; ++i) p.total += cv[static_cast<size_t>(i * d + i)];
  if (!(p.total > 0) || !std::isfinite(p.total))
    throw Error("pca: the " + std::to_string(n) + " rows of " + std::to_string(d) +
                "-D activations have zero variance (total " + std::to_string(p.total) +
                "): there are no principal directions");
  const auto V = doubles(e.eigenvectors);  // [d, d], column i for eigenvalue i
  std::vector<double> comps(static_cast<size_t>(k * d));
  for (int64_t c = 0; c < k; ++c) {
    const int64_t col = d - 1 - c;
    // Eigenvectors have no sign of their own: point each so its largest component is positive,
    // so projections do not mirror from one epoch to the next.
    int64_t big = 0;
    for (int64_t r = 1; r < d; ++r)
      if (std::abs(V[r * d + col]) > std::abs(V[big * d + col])) big = r;
    const double sign = V[big * d + col] < 0 ? -1.0 : 1.0;
    for (int64_t r = 0; r < d; ++r) comps[c * d + r] = sign * V[r * d + col];
    p.variances.push_back(std::max(0.0, w[col]));
    p.ratios.push_back(std::max(0.0, w[col]) / p.total);
  }
  p.components = Tensor::from_vector(comps, {k, d});
  return p;
}

EpochGeometry epoch_geometry_unchecked(const SeedWeights& w, const Tensor& x_train, int epoch);

Tensor project(const Pca& p, const Tensor& x) {
  return affine::matmul(x.contiguous().to(DType::f64) - p.mean,
                        p.components.slice(0, 0, 2).transpose(0, 1));
}

EpochGeometry epoch_geometry(const SeedWeights& w, const Tensor& x_train, int epoch) {
  try {
    return epoch_geometry_unchecked(w, x_train, epoch);
  } catch (const Error& e) {
    throw Error("epoch " + std::to_string(epoch) + ": " + e.what());
  }
}

EpochGeometry epoch_geometry_unchecked(const SeedWeights& w, const Tensor& x_train, int epoch) {
  EpochGeometry g;
  g.epoch = epoch;
  g.linears.push_back(decompose("0", w.w0));
  g.linears.push_back(decompose("2", w.w2));
  g.linears.push_back(decompose("4", w.w4));
  g.hidden_pca = pca(forward_stages(w, x_train).hidden, 5);
  // cos of the principal angles = singular values of Q1 Q2^T, Q1 and Q2 orthonormal bases (rows).
  const Tensor q1 = g.linears[1].Vh.to(DType::f64);
  const Tensor q2 = g.hidden_pca.components.slice(0, 0, 2);
  const auto c = doubles(affine::linalg::svdvals(affine::matmul(q1, q2.transpose(0, 1))));
  for (size_t i = 0; i < 2; ++i) g.principal_angles[i] = std::acos(std::clamp(c[i], 0.0, 1.0));
  return g;
}

Tensor train_points(const History& h) {
  std::vector<float> pts;
  for (int64_t i = 0; i < h.n_train; ++i) {
    pts.push_back(static_cast<float>(h.xs[static_cast<size_t>(i)]));
    pts.push_back(static_cast<float>(h.ys[static_cast<size_t>(i)]));
  }
  return Tensor::from_vector(pts, {h.n_train, 2});
}

std::vector<EpochGeometry> history_geometry(const History& h) {
  const Tensor x = train_points(h);
  std::vector<EpochGeometry> out;
  out.reserve(h.snapshots.size());
  for (const Snapshot& s : h.snapshots) {
    const std::string source = "epoch " + std::to_string(s.epoch);
    out.push_back(epoch_geometry(seed_weights(s.weights, source), x, s.epoch));
  }
  return out;
}

std::string geometry_json(const std::vector<EpochGeometry>& g) {
  // Six decimals: far below anything a figure shows, and short files.
  const auto r6 = [](double v) { return std::round(v * 1e6) / 1e6; };
  const auto deg = [&](double rad) { return r6(rad * 180.0 / std::numbers::pi); };
  nlohmann::ordered_json doc;
  doc["description"] =
      "Per epoch: for each Linear of the Sequential (names 0, 2, 4), W = U diag(s) V^T with "
      "singular values s descending and, where a side is 2-D, the angle in degrees of that "
      "factor's first singular vector (u: output side, v: input side) and whether it reflects; "
      "the explained-variance ratios of the top 5 principal components of the 100-D tanh "
      "activations on the training set; and the principal angles in degrees between layer 2's "
      "row space and the top-2 principal subspace.";
  auto& epochs = doc["epochs"] = nlohmann::ordered_json::array();
  for (const EpochGeometry& e : g) {
    nlohmann::ordered_json je;
    je["epoch"] = e.epoch;
    auto& layers = je["linear"] = nlohmann::ordered_json::object();
    for (const LinearSvd& l : e.linears) {
      nlohmann::ordered_json jl;
      auto& sv = jl["singular_values"] = nlohmann::ordered_json::array();
      for (const double s : l.singular_values) sv.push_back(r6(s));
      if (l.u_angle) {
        jl["u_angle_deg"] = deg(*l.u_angle);
        jl["u_reflects"] = l.u_reflects;
      }
      if (l.v_angle) {
        jl["v_angle_deg"] = deg(*l.v_angle);
        jl["v_reflects"] = l.v_reflects;
      }
      layers[l.name] = std::move(jl);
    }
    auto& ratios = je["hidden_pca_variance_ratio"] = nlohmann::ordered_json::array();
    for (const double r : e.hidden_pca.ratios) ratios.push_back(r6(r));
    je["principal_angles_deg"] = {deg(e.principal_angles[0]), deg(e.principal_angles[1])};
    epochs.push_back(std::move(je));
  }
  // One line per epoch: a file that reads (and diffs) epoch by epoch.
  std::string out = "{\"description\": " + doc["description"].dump() + ",\n\"epochs\": [\n";
  for (size_t i = 0; i < epochs.size(); ++i) out += (i ? ",\n" : "") + epochs[i].dump();
  return out + "\n]}\n";
}

}  // namespace moons
