// affine::dist from an installed affine: run with `mpirun -n 2 consumer_dist`.
#include <affine/affine.hpp>
#include <affine/dist/dist.hpp>
#include <iostream>
using namespace affine;

int main(int argc, char** argv) {
  dist::World world = dist::init(argc, argv);
  nn::Sequential net{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1), nn::Sigmoid()};
  dist::DataParallel model(world, net);
  nn::optim::SGD opt(net.parameters(), {.lr = 0.5});
  auto [x, y] = nn::data::make_moons(256, 0.1, 0);
  dist::DistributedSampler sampler(x.size(0), world);
  const auto rows = sampler.indices();
  const Tensor xs = nn::data::take_rows(x, rows), ys = nn::data::take_rows(y, rows);
  Tape tape;
  for (int step = 0; step < 50; ++step, tape.clear()) {
    opt.zero_grad();
    binary_cross_entropy(model(tape.leaf(xs, false)), Var(ys)).backward();
    opt.step();
  }
  // Every rank must hold the same weights after synchronised steps.
  Tensor w = net.parameters()[0]->value.clone();
  Tensor w_max = w.clone(), w_min = w.clone();
  dist::all_reduce(world, w_max, dist::ReduceOp::max);
  dist::all_reduce(world, w_min, dist::ReduceOp::min);
  const bool same = w_max.to_vector<float>() == w_min.to_vector<float>();
  if (world.rank() == 0)
    std::cout << "consumer_dist: " << world.size() << " ranks agree: " << same << "\n";
  return same ? 0 : 1;
}
