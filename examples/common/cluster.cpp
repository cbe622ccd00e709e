// Cluster: a single process, or an MPI job through affine::dist when the build has it.
// EXAMPLES_HAVE_DIST is set by examples/common/CMakeLists.txt when affine::dist exists.
#include "cluster.hpp"

#include <optional>
#include <string>

#ifdef EXAMPLES_HAVE_DIST
#include <affine/dist/dist.hpp>
#endif

namespace examples {

using namespace affine;

#ifdef EXAMPLES_HAVE_DIST

struct Cluster::Impl {
  std::optional<dist::World> world;
  std::optional<dist::DataParallel> model;
  std::optional<nn::data::DataLoader> shard;
};

Cluster::Cluster(int& argc, char**& argv, bool distributed, const std::string&)
    : impl_(std::make_unique<Impl>()) {
  if (distributed) impl_->world.emplace(argc, argv);
}

int Cluster::rank() const { return impl_->world ? impl_->world->rank() : 0; }
int Cluster::size() const { return impl_->world ? impl_->world->size() : 1; }

nn::Module& Cluster::wrap(nn::Module& net) {
  if (!impl_->world) return net;
  return impl_->model.emplace(*impl_->world, net);
}

nn::data::DataLoader& Cluster::epoch(nn::data::DataLoader& loader, const Tensor& x, const Tensor& y,
                                     int epoch) {
  if (!impl_->world) return loader;
  const auto& o = loader.options();
  if (o.batch_size % size() != 0) {
    throw Error("--distributed: the batch of " + std::to_string(o.batch_size) +
                " rows does not split evenly over " + std::to_string(size()) + " processes");
  }
  dist::DistributedSampler sampler(x.size(0), *impl_->world,
                                   {.shuffle = o.shuffle, .seed = o.seed});
  sampler.set_epoch(epoch);
  const auto rows = sampler.indices();
  return impl_->shard.emplace(
      nn::data::take_rows(x, rows), nn::data::take_rows(y, rows),
      nn::data::LoaderOptions{.batch_size = o.batch_size / size(), .shuffle = false});
}

double Cluster::sum(double value) const {
  if (!impl_->world) return value;
  Tensor t = Tensor::full({1}, value, DType::f64);
  dist::all_reduce(*impl_->world, t, dist::ReduceOp::sum);
  return t.item();
}

void Cluster::abort_all(const std::string& why) const {
  if (impl_->world && size() > 1) impl_->world->abort(why);
}

#else  // built without MPI: always one process

struct Cluster::Impl {};

Cluster::Cluster(int&, char**&, bool distributed, const std::string& program) {
  if (distributed) {
    throw Error("--distributed: this " + program +
                " was built without affine::dist (MPI was not found)");
  }
}
int Cluster::rank() const { return 0; }
int Cluster::size() const { return 1; }
nn::Module& Cluster::wrap(nn::Module& net) { return net; }
nn::data::DataLoader& Cluster::epoch(nn::data::DataLoader& loader, const Tensor&, const Tensor&,
                                     int) {
  return loader;
}
double Cluster::sum(double value) const { return value; }
void Cluster::abort_all(const std::string&) const {}

#endif

Cluster::~Cluster() = default;

}  // namespace examples
