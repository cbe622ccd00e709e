// DataParallel: rank 0's weights everywhere at the start, then gradients averaged in buckets whose
// allreduce starts during backward (see data_parallel.hpp for the scheme).
#include "affine/dist/data_parallel.hpp"

#include <algorithm>
#include <climits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "affine/autograd/tape.hpp"
#include "affine/dist/collectives.hpp"
#include "affine/nn/checkpoint.hpp"
#include "affine/tensor/error.hpp"
#include "comm.hpp"
#include "shared_mean.hpp"

namespace affine::dist {

namespace {

constexpr const char* kOp = "DataParallel";

std::string describe(const std::string& name, const Tensor& t) {
  std::string s;  // appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "'" + string
  s += '\'';
  s += name;
  s += "' ";
  s += dtype_name(t.dtype());
  s += ' ';
  s += to_string(t.shape());
  return s;
}

// Every rank must list the same parameters and buffers; the error names the first difference on
// the lowest rank that differs from rank 0, identically on every rank.
void check_same_layout(const World& world, const nn::NamedTensors& state) {
  std::vector<std::string> mine;
  for (const auto& [name, t] : state) {
    if (!t.defined()) throw Error(std::string(kOp) + ": '" + name + "' is undefined");
    mine.push_back(describe(name, t));
  }
  std::string joined;
  for (const auto& line : mine) {
    joined += line;
    joined += '\n';
  }
  std::string root_layout = joined;
  broadcast(world, root_layout, 0);
  std::vector<std::string> theirs;
  for (size_t pos = 0; pos < root_layout.size();) {
    const size_t end = root_layout.find('\n', pos);
    theirs.push_back(root_layout.substr(pos, end - pos));
    pos = end + 1;
  }
  int64_t first = -1;  // index of this rank's first line that differs from rank 0's
  for (size_t i = 0; i < std::max(mine.size(), theirs.size()); ++i) {
    if (i >= mine.size() || i >= theirs.size() || mine[i] != theirs[i]) {
      first = static_cast<int64_t>(i);
      break;
    }
  }
  const Tensor firsts = all_gather(world, Tensor::from_vector(std::vector<int64_t>{first}));
  for (int r = 0; r < world.size(); ++r) {
    const int64_t i = firsts.data<int64_t>()[r];
    if (i < 0) continue;
    std::string line = r == world.rank() ? (static_cast<size_t>(i) < mine.size()
                                                ? mine[static_cast<size_t>(i)]
                                                : std::string("nothing (it has fewer)"))
                                         : std::string();
    broadcast(world, line, r);
    const std::string root_line = static_cast<size_t>(i) < theirs.size()
                                      ? theirs[static_cast<size_t>(i)]
                                      : std::string("nothing (it has fewer)");
    throw Error(std::string(kOp) + ": the ranks' models differ: state entry " + std::to_string(i) +
                " is " + line + " on rank " + std::to_string(r) + " but " + root_line +
                " on rank 0");
  }
}

// Every rank must bucket (and average) the same way, or their collectives would not match.
void check_same_options(const World& world, const DataParallelOptions& o) {
  static constexpr const char* kNames[] = {"bucket_bytes", "first_bucket_bytes",
                                           "broadcast_buffers", "shared_memory"};
  const std::vector<int64_t> mine{static_cast<int64_t>(o.bucket_bytes),
                                  static_cast<int64_t>(o.first_bucket_bytes),
                                  o.broadcast_buffers ? 1 : 0, o.shared_memory ? 1 : 0};
  const Tensor all = all_gather(world, Tensor::from_vector(mine));  // [size, 4]
  const int64_t* v = all.data<int64_t>();
  const auto n = static_cast<int64_t>(mine.size());
  for (int r = 1; r < world.size(); ++r) {
    for (int64_t i = 0; i < n; ++i) {
      if (v[r * n + i] != v[i]) {
        throw Error(std::string(kOp) + ": the ranks' options differ: " + kNames[i] + " is " +
                    std::to_string(v[r * n + i]) + " on rank " + std::to_string(r) + " but " +
                    std::to_string(v[i]) + " on rank 0");
      }
    }
  }
}

// Rank 0's values into t (contiguous or not), without a header check: the layout was checked.
void broadcast_in_place(const World& world, Tensor& t) {
  Tensor v = t.is_contiguous() ? t : t.clone();
  detail::broadcast_raw(world, v, 0, kOp);
  if (!v.shares_storage(t)) t.copy_(v);
}

}  // namespace

// The gradient buckets and the backward observer that fills and sends them.
class DataParallel::Reducer : public BackwardObserver {
 public:
  Reducer(const World& world, const std::vector<Parameter*>& params,
          const DataParallelOptions& options)
      : world_(world) {
    // Reverse registration order: the last layer's gradients are final first.
    size_t cap = std::max<size_t>(options.first_bucket_bytes, 1);
    for (auto it = params.rbegin(); it != params.rend(); ++it) {
      Parameter* p = *it;
      if (!p->requires_grad) continue;
      const size_t bytes = static_cast<size_t>(p->value.numel()) * dtype_size(p->value.dtype());
      if (buckets_.empty() || buckets_.back().dtype != p->value.dtype() ||
          (buckets_.back().bytes > 0 && buckets_.back().bytes + bytes > cap)) {
        if (!buckets_.empty()) cap = std::max<size_t>(options.bucket_bytes, 1);
        buckets_.emplace_back().dtype = p->value.dtype();
      }
      Bucket& b = buckets_.back();
      slots_.emplace(p, Slot{buckets_.size() - 1, b.numel});
      b.params.push_back(p);
      b.numel += p->value.numel();
      b.bytes += bytes;
    }
    std::vector<std::pair<int64_t, DType>> layout;
    for (const Bucket& b : buckets_) {
      if (b.numel > INT_MAX) {
        throw Error(std::string(kOp) + ": a bucket of " + std::to_string(b.numel) +
                    " elements exceeds MPI's int count; lower bucket_bytes");
      }
      layout.emplace_back(b.numel, b.dtype);
    }
    // With shared memory the buckets (and so the gradients) live where the other ranks read them.
    if (options.shared_memory) shared_ = detail::SharedMean::create(world, layout, kOp);
    for (size_t i = 0; i < buckets_.size(); ++i) {
      Bucket& b = buckets_[i];
      b.buffer = shared_ ? shared_->buffer(i) : Tensor::zeros({b.numel}, b.dtype);
      for (Parameter* p : b.params) bind(*p);
    }
    requests_.assign(buckets_.size(), MPI_REQUEST_NULL);
  }

  ~Reducer() override {
    // Never leave MPI writing into freed buffers: finish what was started (errors are moot now).
    try {
      finish_inflight();
    } catch (const Error&) {
    }
  }

  size_t bucket_count() const { return buckets_.size(); }
  bool uses_shared_memory() const { return shared_ != nullptr; }

  // Called by forward() before a synchronised backward.
  void prepare() {
    finish_inflight();
    for (Bucket& b : buckets_) b.pending = b.params.size();
    for (auto& [p, slot] : slots_) slot.ready = false;
    next_ = 0;
  }

  void param_ready(Parameter& p) override {
    auto it = slots_.find(&p);
    if (it == slots_.end() || it->second.ready) return;
    it->second.ready = true;
    bind(p);
    --buckets_[it->second.bucket].pending;
    if (!shared_) launch(false);
  }

  void backward_done() override {
    if (shared_) {
      // All buckets at once: with no core to spare, starting them earlier would not overlap.
      for (Bucket& b : buckets_) {
        for (Parameter* p : b.params) bind(*p);  // parameters the walk never reached
      }
      shared_->mean();
      return;
    }
    launch(true);
    detail::wait_all(world_, requests_, kOp);
    for (Bucket& b : buckets_) detail::divide(b.buffer, world_.size());
  }

 private:
  struct Slot {
    size_t bucket;
    int64_t offset;
    bool ready = false;
  };
  struct Bucket {
    DType dtype = DType::f32;
    std::vector<Parameter*> params;
    int64_t numel = 0;
    size_t bytes = 0;
    Tensor buffer;
    size_t pending = 0;  ///< parameters not yet final in this backward
  };

  // Makes p.grad the view of its place in the bucket buffer, carrying over its current value
  // (the gradient accumulated so far), unless it already is that view.
  void bind(Parameter& p) {
    const Slot& s = slots_.at(&p);
    const Tensor& buffer = buckets_[s.bucket].buffer;
    if (p.grad.defined() && p.grad.shares_storage(buffer) && p.grad.offset() == s.offset &&
        p.grad.shape() == p.value.shape()) {
      return;
    }
    Tensor view = buffer.narrow(0, s.offset, p.value.numel()).view(p.value.shape());
    if (p.grad.defined() && p.grad.shape() == p.value.shape()) {
      view.copy_(p.grad);
    } else {
      view.fill_(0);
    }
    p.grad = view;
  }

  // Starts buckets in index order (the same on every rank): those complete, or all with force
  // (the walk is over; parameters it never reached keep their current gradients). Then lets MPI
  // progress the ones in flight.
  void launch(bool force) {
    while (next_ < buckets_.size() && (force || buckets_[next_].pending == 0)) {
      Bucket& b = buckets_[next_++];
      if (force) {
        for (Parameter* p : b.params) bind(*p);
      }
      detail::check(world_,
                    MPI_Iallreduce(MPI_IN_PLACE, detail::raw(b.buffer), static_cast<int>(b.numel),
                                   detail::mpi_type(b.dtype), MPI_SUM, world_.impl().comm,
                                   &requests_[next_ - 1]),
                    kOp);
    }
    // Open MPI moves a non-blocking collective forward only inside MPI calls: poke it here, at
    // every finished parameter, so the allreduce proceeds while backward computes.
    detail::test_all(world_, requests_, kOp);
  }

  // Completed requests are MPI_REQUEST_NULL, so this waits only for those still in flight.
  void finish_inflight() { detail::wait_all(world_, requests_, kOp); }

  const World& world_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const Parameter*, Slot> slots_;
  std::vector<MPI_Request> requests_;  // one per bucket; MPI_REQUEST_NULL when idle or done
  size_t next_ = 0;
  std::unique_ptr<detail::SharedMean> shared_;  // null: buckets go through MPI_Iallreduce
};

DataParallel::DataParallel(const World& world, nn::Module& module, DataParallelOptions options)
    : world_(world), module_(module), options_(options) {
  register_module("module", module);
  nn::NamedTensors state = module.state_dict();  // parameters and buffers, sharing storage
  check_same_layout(world, state);
  check_same_options(world, options);
  for (auto& [name, t] : state) broadcast_in_place(world, t);
  reducer_ = std::make_unique<Reducer>(world, module.parameters(), options);
}

DataParallel::~DataParallel() = default;

Var DataParallel::forward(const Var& x) {
  Tape* tape = x.tape();
  if (sync_ && tape != nullptr && tape->recording()) {
    // Buffers (running statistics...) follow rank 0's, as PyTorch's broadcast_buffers.
    if (options_.broadcast_buffers) {
      for (Tensor* b : module_.buffers()) broadcast_in_place(world_, *b);
    }
    reducer_->prepare();
    tape->set_backward_observer(reducer_.get());
  }
  return module_.forward(x);
}

std::string DataParallel::name() const { return "DataParallel(" + module_.name() + ")"; }

size_t DataParallel::bucket_count() const { return reducer_->bucket_count(); }

bool DataParallel::uses_shared_memory() const { return reducer_->uses_shared_memory(); }

DataParallel::NoSync::NoSync(DataParallel& owner) : owner_(owner), previous_(owner.sync_) {
  owner_.sync_ = false;
}
DataParallel::NoSync::~NoSync() { owner_.sync_ = previous_; }

}  // namespace affine::dist
