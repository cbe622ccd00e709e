// Makes the libtorch peer of a benchmark binary run on one thread, as affine does.
//
// torch::set_num_threads(1) does not reach the OpenBLAS that Debian's libtorch calls for its GEMMs
// (through libblas.so.3, a library of its own, so openblas_set_num_threads on libopenblas does not
// reach it either): that OpenBLAS reads OPENBLAS_NUM_THREADS once, when it loads, and otherwise
// runs a thread per core. Under `taskset -c 1` the extra thread shares the core and Google
// Benchmark's CPU time (the main thread's) leaves its work out; unpinned, the peer uses two cores.
#pragma once

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace affine::bench {

/// Re-executes this program with OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1 unless
/// they are already set so (then returns). Call first thing in main(); exits 1 if exec fails.
inline void reexec_with_one_blas_thread(char** argv) {
  const char* vars[] = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"};
  bool set = true;
  for (const char* v : vars) {
    const char* value = std::getenv(v);
    set = set && value != nullptr && std::strcmp(value, "1") == 0;
  }
  if (set) return;
  for (const char* v : vars) setenv(v, "1", 1);
  execv("/proc/self/exe", argv);
  std::perror("reexec_with_one_blas_thread: execv(/proc/self/exe)");
  std::exit(1);
}

}  // namespace affine::bench
