#include <affine/affine.hpp>
#include <iostream>
using namespace affine;

int main() {
  auto [x, y] = nn::data::make_moons(1000, /*noise=*/0.1, /*seed=*/0);
  nn::Sequential net{nn::Linear(2, 100), nn::Tanh(),       nn::Linear(100, 2),
                     nn::Tanh(),         nn::Linear(2, 1), nn::Sigmoid()};
  nn::optim::Adam opt(net.parameters(), {.lr = 0.01});
  Tape tape;
  for (int step = 0; step < 300; ++step, tape.clear()) {
    Var loss = binary_cross_entropy(net(tape.leaf(x, /*requires_grad=*/false)), y);
    opt.zero_grad(), loss.backward(), opt.step();
  }
  double accuracy = mean(eq(gt(net(x).value(), 0.5), y)).item();  // inference: no tape
  std::cout << "train accuracy " << accuracy << "\n";
  return accuracy > 0.95 ? 0 : 1;
}
