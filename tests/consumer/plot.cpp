// Plot your own model with affine::viz (the README's example; CI builds it against an installed
// affine and as a subdirectory): train the moons network, then draw its decision boundary.
#include <affine/affine.hpp>
#include <affine/viz/viz.hpp>
#include <iostream>
using namespace affine;

int main(int argc, char** argv) {
  auto [x, y] = nn::data::make_moons(400, /*noise=*/0.1, /*seed=*/0);
  nn::Sequential net{nn::Linear(2, 100), nn::Tanh(),       nn::Linear(100, 2),
                     nn::Tanh(),         nn::Linear(2, 1), nn::Sigmoid()};
  nn::optim::Adam opt(net.parameters(), {.lr = 0.01});
  Tape tape;
  for (int step = 0; step < 300; ++step, tape.clear()) {
    Var loss = binary_cross_entropy(net(tape.leaf(x, /*requires_grad=*/false)), y);
    opt.zero_grad(), loss.backward(), opt.step();
  }
  // viz plots numbers and functions: hand it the model as a function of the plane, and the data.
  viz::BoundaryOptions o{.x0 = -1.5, .x1 = 2.5, .y0 = -1, .y1 = 1.5, .resolution = 81};
  o.xs = x.slice(1, 0, 1).contiguous().to(DType::f64).to_vector<double>();
  o.ys = x.slice(1, 1, 2).contiguous().to(DType::f64).to_vector<double>();
  for (const float label : y.to_vector<float>()) o.labels.push_back(static_cast<int>(label));
  o.title = "my model";
  const auto p = [&](double x1, double x2) {
    return net(Tensor::of({x1, x2}, {1, 2})).value().item();
  };
  viz::decision_boundary(p, o).save(argc > 1 ? argv[1] : "boundary.svg");
  std::cout << "wrote " << (argc > 1 ? argv[1] : "boundary.svg") << "\n";
}
