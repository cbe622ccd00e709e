// A data-parallel training run in which one rank (rank 1) fails at step 20, for fault_test.sh:
//   kill  - the rank kills itself with SIGKILL (a crash or the OOM killer);
//   throw - the rank throws an exception nobody catches;
//   stall - the rank stops answering (sleeps), as a hung process would.
// Whatever happens, every rank must end non-zero, soon, with a message naming a rank.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "affine/affine.hpp"
#include "affine/dist/dist.hpp"

using namespace affine;

int main(int argc, char** argv) {
  dist::World world = dist::init(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "kill" && mode != "throw" && mode != "stall") {
    std::fprintf(stderr, "usage: fault_worker kill|throw|stall\n");
    return 2;
  }
  Generator gen(1);
  nn::Sequential net{nn::Linear(2, 16, gen), nn::Tanh(), nn::Linear(16, 1, gen), nn::Sigmoid()};
  dist::DataParallel model(world, net);
  nn::optim::SGD opt(net.parameters(), {.lr = 0.1});
  const auto data = nn::data::make_moons(64, 0.1, 0);
  Tape tape;
  for (int step = 0; step < 1'000'000; ++step) {
    if (step == 20 && world.rank() == 1) {
      std::fprintf(stderr, "fault_worker: rank 1 injects '%s' at step 20\n", mode.c_str());
      if (mode == "kill") std::raise(SIGKILL);
      if (mode == "throw") throw std::runtime_error("injected fault");
      ::sleep(600);
    }
    tape.clear();
    opt.zero_grad();
    binary_cross_entropy(model(tape.leaf(data.x, false)), Var(data.y)).backward();
    opt.step();
  }
  return 0;
}
