// The environment the libtorch peer of a benchmark binary runs in: one thread, as affine, and a
// heap that is not handed back to the kernel after every step.
//
// One thread: torch::set_num_threads(1) does not reach the OpenBLAS that Debian's libtorch calls
// for its GEMMs (through libblas.so.3, a library of its own, so openblas_set_num_threads on
// libopenblas does not reach it either): that OpenBLAS reads OPENBLAS_NUM_THREADS once, when it
// loads, and otherwise runs a thread per core. Under `taskset -c 1` the extra thread shares the
// core and Google Benchmark's CPU time (the main thread's) leaves its work out; unpinned, the peer
// uses two cores.
//
// The heap: libtorch frees its step's tensors to glibc's malloc, which by default trims the top of
// the heap back to the kernel and takes it again on the next step, and maps blocks of 128 KiB and
// more separately. Each round costs page faults. On a VM where a page fault is expensive (the Zen 5
// KVM guest of the seventh session) that made libtorch's batch-1,000 step 400 us in one process
// and 2,500 us in the next. glibc reads MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ and
// MALLOC_MMAP_THRESHOLD_ when it starts, so they are set here and the program re-executed: the
// heap then stays mapped, as a long-running trainer's would, and the peer's time is its work.
// Blocks above 32 MiB (glibc's largest mmap threshold) are still mapped per allocation; with
// glibc.malloc.hugetlb=1 they are mapped in transparent huge pages, 512 times fewer faults (PyTorch
// DDP's 1-process seed step on that VM: 155 ms without, 66 ms with).
// affine's own tensors come from its caching allocator and are unaffected.
#pragma once

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace affine::bench {

/// The variables and values reexec_with_peer_env() sets; bench/peer_env.py holds the same for the
/// Python children of bench/train_report and bench/dist_report.
inline constexpr const char* kPeerEnv[][2] = {
    {"OPENBLAS_NUM_THREADS", "1"},
    {"OMP_NUM_THREADS", "1"},
    {"MKL_NUM_THREADS", "1"},
    {"MALLOC_TRIM_THRESHOLD_", "4294967296"},
    {"MALLOC_TOP_PAD_", "268435456"},
    {"MALLOC_MMAP_THRESHOLD_", "33554432"},
    {"GLIBC_TUNABLES", "glibc.malloc.hugetlb=1"},
};

/// Re-executes this program with kPeerEnv set unless it already is (then returns). Call first
/// thing in main(); exits 1 if exec fails.
inline void reexec_with_peer_env(char** argv) {
  bool set = true;
  for (const auto& [name, value] : kPeerEnv) {
    const char* now = std::getenv(name);
    set = set && now != nullptr && std::strcmp(now, value) == 0;
  }
  if (set) return;
  for (const auto& [name, value] : kPeerEnv) setenv(name, value, 1);
  execv("/proc/self/exe", argv);
  std::perror("reexec_with_peer_env: execv(/proc/self/exe)");
  std::exit(1);
}

}  // namespace affine::bench
