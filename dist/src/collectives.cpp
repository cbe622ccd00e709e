// Collectives on Tensors over MPI, each preceded by a header exchange so that ranks which disagree
// on what they are doing get an error instead of each other's bytes.
#include "affine/dist/collectives.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "affine/tensor/error.hpp"
#include "comm.hpp"

namespace affine::dist {

namespace detail {

namespace {

constexpr std::array<std::string_view, 4> kReduceNames = {"sum", "mean", "max", "min"};

// Header layout: op code, dtype (-1: no tensor, -2: undefined), rank, kMaxRank dims, root, reduce.
constexpr int kFields = 5 + kMaxRank;

// A stable code for an operation's name (FNV-1a folded to 53 bits so it survives negation).
int64_t op_code(std::string_view op) {
  uint64_t h = 1469598103934665603ull;
  for (char c : op) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<int64_t>(h >> 11);
}

std::array<int64_t, kFields> encode(const Header& h) {
  std::array<int64_t, kFields> f{};
  f.fill(-1);
  f[0] = op_code(h.op);
  if (h.tensor == nullptr) {
    f[1] = -1;
  } else if (!h.tensor->defined()) {
    f[1] = -2;
  } else {
    f[1] = static_cast<int64_t>(h.tensor->dtype());
    f[2] = h.tensor->rank();
    for (int d = 0; d < h.tensor->rank(); ++d) f[3 + d] = h.tensor->shape()[d];
  }
  f[3 + kMaxRank] = h.root;
  f[4 + kMaxRank] = h.reduce;
  return f;
}

std::string describe(const std::array<int64_t, kFields>& f,
                     const std::array<int64_t, kFields>& mine, std::string_view my_op) {
  std::string s = f[0] == mine[0] ? std::string(my_op) : std::string("a different operation");
  if (f[1] == -2) {
    s += " with an undefined tensor";
  } else if (f[1] >= 0) {
    Shape shape;
    for (int d = 0; d < f[2]; ++d) shape.push_back(f[3 + d]);
    s += " ";
    s += dtype_name(static_cast<DType>(f[1]));
    s += ' ';
    s += to_string(shape);
  }
  if (f[3 + kMaxRank] >= 0) s += " root " + std::to_string(f[3 + kMaxRank]);
  if (f[4 + kMaxRank] >= 0) {
    s += ' ';  // appended piece by piece: g++ 12 warns falsely (-Wrestrict) on " " + string
    s += kReduceNames.at(static_cast<size_t>(f[4 + kMaxRank]));
  }
  return s;
}

}  // namespace

void agree(const World& world, const Header& h) {
  const auto mine = encode(h);
  // min over ranks of (f, -f) gives every field's minimum and maximum in one small allreduce.
  std::array<int64_t, 2 * kFields> both{};
  for (int i = 0; i < kFields; ++i) {
    both[static_cast<size_t>(i)] = mine[static_cast<size_t>(i)];
    both[static_cast<size_t>(kFields + i)] = -mine[static_cast<size_t>(i)];
  }
  MPI_Request req = MPI_REQUEST_NULL;
  check(world,
        MPI_Iallreduce(MPI_IN_PLACE, both.data(), 2 * kFields, MPI_INT64_T, MPI_MIN,
                       world.impl().comm, &req),
        h.op);
  wait(world, req, h.op);
  bool same = true;
  for (int i = 0; i < kFields; ++i) {
    same = same && both[static_cast<size_t>(i)] == -both[static_cast<size_t>(kFields + i)];
  }
  if (same) return;
  // Rare path: gather every rank's header to say who passed what.
  std::vector<int64_t> all(static_cast<size_t>(kFields) * static_cast<size_t>(world.size()));
  check(world,
        MPI_Iallgather(mine.data(), kFields, MPI_INT64_T, all.data(), kFields, MPI_INT64_T,
                       world.impl().comm, &req),
        h.op);
  wait(world, req, h.op);
  std::string msg = std::string(h.op) + ": the ranks' calls do not match:";
  for (int r = 0; r < world.size(); ++r) {
    std::array<int64_t, kFields> f{};
    std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(r) * kFields, kFields, f.begin());
    msg +=
        (r == 0 ? " rank " : "; rank ") + std::to_string(r) + " called " + describe(f, mine, h.op);
  }
  throw Error(msg);
}

// MPI takes untyped buffers; the typed accessor checks the dtype, and the const is MPI's C API.
void* raw(const Tensor& t) {
  switch (t.dtype()) {
    case DType::f32:
      return const_cast<float*>(t.data<float>());
    case DType::f64:
      return const_cast<double*>(t.data<double>());
    case DType::i64:
      return const_cast<int64_t*>(t.data<int64_t>());
  }
  throw Error("dist: unknown dtype");
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::i64:
      return MPI_INT64_T;
  }
  return MPI_DATATYPE_NULL;
}

void divide(Tensor& t, int size) {
  switch (t.dtype()) {
    case DType::f32: {
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] /= static_cast<float>(size);
      break;
    }
    case DType::f64: {
      double* p = t.data<double>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] /= static_cast<double>(size);
      break;
    }
    case DType::i64: {
      int64_t* p = t.data<int64_t>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] /= size;
      break;
    }
  }
}

void broadcast_raw(const World& world, Tensor& t, int root, const char* op) {
  auto* p = static_cast<char*>(raw(t));
  std::vector<MPI_Request> reqs;
  // MPI counts are int: large tensors go in chunks.
  const int64_t chunk = INT_MAX / 8;
  for (int64_t start = 0; start < t.numel(); start += chunk) {
    const auto n = static_cast<int>(std::min(chunk, t.numel() - start));
    MPI_Request r = MPI_REQUEST_NULL;
    check(world,
          MPI_Ibcast(p + start * static_cast<int64_t>(dtype_size(t.dtype())), n,
                     mpi_type(t.dtype()), root, world.impl().comm, &r),
          op);
    reqs.push_back(r);
  }
  wait_all(world, reqs, op);
}

}  // namespace detail

namespace {

using detail::check;

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean:
      return MPI_SUM;
    case ReduceOp::max:
      return MPI_MAX;
    case ReduceOp::min:
      return MPI_MIN;
  }
  return MPI_OP_NULL;
}

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": the tensor is undefined");
}

void check_root(const World& world, int root, const char* op) {
  if (root < 0 || root >= world.size()) {
    throw Error(std::string(op) + ": root " + std::to_string(root) +
                " is not a rank of a world of " + std::to_string(world.size()));
  }
}

int int_count(int64_t n, const char* op) {
  if (n > INT_MAX) {
    throw Error(std::string(op) + ": " + std::to_string(n) +
                " elements per rank exceed MPI's int count");
  }
  return static_cast<int>(n);
}

}  // namespace

void all_reduce(const World& world, Tensor& t, ReduceOp op) {
  constexpr const char* kOp = "all_reduce";
  detail::agree(world, {.op = kOp, .tensor = &t, .reduce = static_cast<int64_t>(op)});
  require_defined(t, kOp);
  Tensor buf = t.is_contiguous() ? t : t.clone();
  if (buf.numel() > 0) {
    std::vector<MPI_Request> reqs;
    const int64_t chunk = INT_MAX / 8;
    const auto esize = static_cast<int64_t>(dtype_size(buf.dtype()));
    char* base = static_cast<char*>(detail::raw(buf));
    for (int64_t start = 0; start < buf.numel(); start += chunk) {
      MPI_Request r = MPI_REQUEST_NULL;
      check(world,
            MPI_Iallreduce(MPI_IN_PLACE, base + start * esize,
                           static_cast<int>(std::min(chunk, buf.numel() - start)),
                           detail::mpi_type(buf.dtype()), mpi_op(op), world.impl().comm, &r),
            kOp);
      reqs.push_back(r);
    }
    detail::wait_all(world, reqs, kOp);
    if (op == ReduceOp::mean) detail::divide(buf, world.size());
  }
  if (!buf.shares_storage(t)) t.copy_(buf);
}

void broadcast(const World& world, Tensor& t, int root) {
  constexpr const char* kOp = "broadcast";
  detail::agree(world, {.op = kOp, .tensor = &t, .root = root});
  check_root(world, root, kOp);
  require_defined(t, kOp);
  Tensor buf = t.is_contiguous() ? t : t.clone();
  detail::broadcast_raw(world, buf, root, kOp);
  if (!buf.shares_storage(t)) t.copy_(buf);
}

Tensor all_gather(const World& world, const Tensor& t) {
  constexpr const char* kOp = "all_gather";
  detail::agree(world, {.op = kOp, .tensor = &t});
  require_defined(t, kOp);
  const Tensor in = t.contiguous();
  Shape shape = t.shape();
  shape.insert(0, world.size());
  Tensor out = Tensor::empty(shape, t.dtype());
  if (in.numel() > 0) {
    const int n = int_count(in.numel(), kOp);
    const MPI_Datatype type = detail::mpi_type(t.dtype());
    MPI_Request r = MPI_REQUEST_NULL;
    check(
        world,
        MPI_Iallgather(detail::raw(in), n, type, detail::raw(out), n, type, world.impl().comm, &r),
        kOp);
    detail::wait(world, r, kOp);
  }
  return out;
}

Tensor reduce_scatter(const World& world, const Tensor& t, ReduceOp op) {
  constexpr const char* kOp = "reduce_scatter";
  detail::agree(world, {.op = kOp, .tensor = &t, .reduce = static_cast<int64_t>(op)});
  require_defined(t, kOp);
  if (t.rank() == 0 || t.size(0) % world.size() != 0) {
    throw Error(std::string(kOp) + ": tensor " + to_string(t.shape()) +
                " must have a first dimension divisible by the world size " +
                std::to_string(world.size()));
  }
  const Tensor in = t.contiguous();
  Shape shape = t.shape();
  shape[0] /= world.size();
  Tensor out = Tensor::empty(shape, t.dtype());
  if (out.numel() > 0) {
    MPI_Request r = MPI_REQUEST_NULL;
    check(world,
          MPI_Ireduce_scatter_block(detail::raw(in), detail::raw(out), int_count(out.numel(), kOp),
                                    detail::mpi_type(t.dtype()), mpi_op(op), world.impl().comm, &r),
          kOp);
    detail::wait(world, r, kOp);
    if (op == ReduceOp::mean) detail::divide(out, world.size());
  }
  return out;
}

void broadcast(const World& world, std::string& s, int root) {
  constexpr const char* kOp = "broadcast(string)";
  detail::agree(world, {.op = kOp, .tensor = nullptr, .root = root});
  check_root(world, root, kOp);
  Tensor len = Tensor::from_vector(std::vector<int64_t>{static_cast<int64_t>(s.size())});
  detail::broadcast_raw(world, len, root, kOp);
  const int64_t n = len.data<int64_t>()[0];
  Tensor chars = Tensor::zeros({(n + 7) / 8}, DType::i64);
  if (world.rank() == root) std::memcpy(detail::raw(chars), s.data(), s.size());
  detail::broadcast_raw(world, chars, root, kOp);
  s.assign(static_cast<const char*>(detail::raw(chars)), static_cast<size_t>(n));
}

void broadcast(const World& world, std::vector<std::pair<std::string, Tensor>>& tensors, int root) {
  constexpr const char* kOp = "broadcast(named tensors)";
  detail::agree(world, {.op = kOp, .tensor = nullptr, .root = root});
  check_root(world, root, kOp);
  // The layout first (names, dtypes, shapes) as one string, then each tensor's data.
  std::string layout;
  if (world.rank() == root) {
    for (const auto& [name, t] : tensors) {
      require_defined(t, kOp);
      // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on char + std::string.
      layout += name;
      layout += '\n';
      layout += std::to_string(static_cast<int>(t.dtype()));
      for (int d = 0; d < t.rank(); ++d) {
        layout += ' ';
        layout += std::to_string(t.size(d));
      }
      layout += '\n';
    }
  }
  broadcast(world, layout, root);
  std::vector<std::pair<std::string, Tensor>> out;
  size_t pos = 0;
  while (pos < layout.size()) {
    const size_t name_end = layout.find('\n', pos);
    const size_t line_end = layout.find('\n', name_end + 1);
    std::string name = layout.substr(pos, name_end - pos);
    const std::string spec = layout.substr(name_end + 1, line_end - name_end - 1);
    pos = line_end + 1;
    std::vector<int64_t> fields;
    for (size_t i = 0; i < spec.size();) {
      size_t used = 0;
      fields.push_back(std::stoll(spec.substr(i), &used));
      i += used;
      while (i < spec.size() && spec[i] == ' ') ++i;
    }
    Shape shape(std::vector<int64_t>(fields.begin() + 1, fields.end()));
    out.emplace_back(std::move(name), Tensor::empty(shape, static_cast<DType>(fields[0])));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (world.rank() == root) out[i].second.copy_(tensors[i].second);
    detail::broadcast_raw(world, out[i].second, root, kOp);
  }
  tensors = std::move(out);
}

}  // namespace affine::dist
