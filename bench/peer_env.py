"""The environment of the torch peers that bench/train_report and bench/dist_report start: the same
variables as bench/peer_env.hpp sets for the libtorch rows of the C++ benchmarks (it says why)."""
import os

# One BLAS thread: torch.set_num_threads(1) does not reach the OpenBLAS that Debian's torch calls.
ONE_BLAS_THREAD = dict(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
# A kept heap: no trimming back to the kernel every step; blocks above glibc's 32 MiB mmap limit
# in transparent huge pages.
KEPT_HEAP = dict(MALLOC_TRIM_THRESHOLD_="4294967296", MALLOC_TOP_PAD_="268435456",
                 MALLOC_MMAP_THRESHOLD_="33554432", GLIBC_TUNABLES="glibc.malloc.hugetlb=1")


def peer_env(one_blas_thread=True):
    """os.environ plus the kept heap, and one BLAS thread unless one_blas_thread is False."""
    return dict(os.environ, **KEPT_HEAP, **(ONE_BLAS_THREAD if one_blas_thread else {}))
