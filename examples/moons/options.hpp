// The command-line settings of a run (parsed in main.cpp with CLI11).
#pragma once

#include <cstdint>
#include <string>

namespace moons {

struct Options {
  int64_t samples = 1000;      ///< points in the data set (train + test)
  double noise = 0.1;          ///< standard deviation of the Gaussian noise added to the moons
  double test_fraction = 0.2;  ///< held out for testing
  int epochs = 150;
  std::string optimizer = "adam";  ///< "adam" or "sgd"
  double lr = 0;                   ///< 0 until parsed: 0.005 for adam, 0.1 for sgd
  double momentum = 0;             ///< sgd only
  int64_t batch = 32;              ///< mini-batch size; 0 = the whole training set (full batch)
  uint64_t seed = 0;
  std::string out = "out/moons";
  bool quiet = false;
  bool distributed = false;  ///< data-parallel over the processes of an MPI job (mpirun)
};

}  // namespace moons
