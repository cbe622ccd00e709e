// Dense factorizations: affine::linalg against LAPACK from OpenBLAS and Eigen, side by side in
// one binary.
//
// Names: <op>/<impl>/<n>/threads:<T>, op in getrf (LU, partial pivoting), potrf (Cholesky),
// geqrf (Householder QR), gesv (LU + solve, one right-hand side), syevd (symmetric eigenvalues
// and eigenvectors; affine::linalg::eigh), gesdd (SVD with the reduced U and V; affine svd with
// full_matrices = false); impl in affine, openblas (OpenBLAS's LAPACK, Fortran interface,
// column-major), eigen (PartialPivLU, LLT, HouseholderQR, SelfAdjointEigenSolver, BDCSVD);
// double, n x n, n in 64, 256, 1024, 2048. GFLOPS counts the nominal flops (LAPACK's working
// notes: getrf 2/3 n^3, potrf 1/3 n^3, geqrf 4/3 n^3, gesv 2/3 n^3 + 2 n^2; Golub & Van Loan's
// table 8.6.1 / 8.6.2: symmetric eigen with vectors 9 n^3, SVD with U and V 21 n^3) per second of
// the timing thread's CPU time at threads:1 (the shared machines here run 5-10x loaded, so wall
// time mostly measures the neighbours), and of wall time at threads:2 (where the CPU time of the
// calling thread alone would flatter every impl).
// Every iteration factors a fresh copy of the same matrix (the copy, O(n^2), is timed for every
// impl alike; affine's copy is inside the function). A column-major peer sees the row-major
// buffer as A^T: the same work (and the same matrix for the symmetric potrf input).
// syevd_batch and gesdd_batch: batches of 3 x 3 to 32 x 32 matrices (register_batches).
// Notes: Eigen runs with threads:1 only (no OpenMP in this build) and is compiled, like all of
// bench/, for the baseline x86-64 ISA (no -march=native), which costs it its AVX kernels.
//   linalg_bench --benchmark_filter='getrf/.*/1024/threads:1'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "affine/tensor/linalg.hpp"
#include "affine/tensor/parallel.hpp"
#include "affine/tensor/tensor.hpp"

#ifdef AFFINE_HAVE_OPENBLAS
#include <cblas.h>
extern "C" {
// LAPACK's Fortran interface, exported by libopenblas (Debian builds it with LAPACK inside).
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dgesv_(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b,
            const int* ldb, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork,
             int* iwork, int* info);
}
#endif

#ifdef AFFINE_HAVE_EIGEN
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>
#endif

namespace {

namespace la = affine::linalg;

// The input of one benchmark: A (n x n, row-major; symmetric positive definite for potrf), a
// right-hand side b, and work buffers for the peers.
struct Problem {
  int64_t n;
  std::vector<double> a, b, work_a, work_b, tau, lwork;
  std::vector<int> ipiv;
  std::vector<double> spectral_work;  // syevd/gesdd: values, vectors and LAPACK's workspace
  std::vector<int> spectral_iwork;
  affine::Tensor ta, tb;

  Problem(int64_t size, bool spd) : n(size) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> d;
    const size_t nn = static_cast<size_t>(n * n);
    a.resize(nn);
    for (auto& v : a) v = d(rng);
    if (spd) {  // (G + G^T) / 2 + n I: symmetric and diagonally dominant, so positive definite
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < i; ++j)
          a[i * n + j] = a[j * n + i] = 0.5 * (a[i * n + j] + a[j * n + i]);
      for (int64_t i = 0; i < n; ++i) a[i * n + i] += double(n);
    }
    b.resize(static_cast<size_t>(n));
    for (auto& v : b) v = d(rng);
    work_a.resize(nn);
    work_b.resize(b.size());
    tau.resize(static_cast<size_t>(n));
    lwork.resize(static_cast<size_t>(64 * n));
    ipiv.resize(static_cast<size_t>(n));
    ta = affine::Tensor::from_vector(a, {n, n});
    tb = affine::Tensor::from_vector(b, {n, 1});
  }
  void fresh() {
    std::memcpy(work_a.data(), a.data(), a.size() * sizeof(double));
    std::memcpy(work_b.data(), b.data(), b.size() * sizeof(double));
  }
};

using Run = std::function<void(Problem&)>;

struct Impl {
  const char* name;
  Run run;  // empty when the peer is not built in
  bool threaded;
};

struct Op {
  const char* name;
  bool spd;
  double (*flops)(double n);
  std::vector<Impl> impls;
};

#ifdef AFFINE_HAVE_EIGEN
using EMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using EMap = Eigen::Map<const EMat>;
#endif

std::vector<Op> ops() {
  std::vector<Op> out;
  // getrf
  {
    Op op{"getrf", false, [](double n) { return 2.0 / 3.0 * n * n * n; }, {}};
    op.impls.push_back(
        {"affine",
         [](Problem& p) { benchmark::DoNotOptimize(la::lu_factor(p.ta).LU.data<double>()); },
         true});
#ifdef AFFINE_HAVE_OPENBLAS
    op.impls.push_back({"openblas",
                        [](Problem& p) {
                          p.fresh();
                          const int n = static_cast<int>(p.n);
                          int info = 0;
                          dgetrf_(&n, &n, p.work_a.data(), &n, p.ipiv.data(), &info);
                        },
                        true});
#endif
#ifdef AFFINE_HAVE_EIGEN
    op.impls.push_back({"eigen",
                        [](Problem& p) {
                          Eigen::PartialPivLU<EMat> lu(EMap(p.a.data(), p.n, p.n));
                          benchmark::DoNotOptimize(lu.matrixLU().data());
                        },
                        false});
#endif
    out.push_back(op);
  }
  // potrf
  {
    Op op{"potrf", true, [](double n) { return n * n * n / 3.0; }, {}};
    op.impls.push_back(
        {"affine", [](Problem& p) { benchmark::DoNotOptimize(la::cholesky(p.ta).data<double>()); },
         true});
#ifdef AFFINE_HAVE_OPENBLAS
    op.impls.push_back({"openblas",
                        [](Problem& p) {
                          p.fresh();
                          const int n = static_cast<int>(p.n);
                          int info = 0;
                          dpotrf_("L", &n, p.work_a.data(), &n, &info);
                        },
                        true});
#endif
#ifdef AFFINE_HAVE_EIGEN
    op.impls.push_back({"eigen",
                        [](Problem& p) {
                          Eigen::LLT<EMat> llt(EMap(p.a.data(), p.n, p.n));
                          benchmark::DoNotOptimize(llt.matrixLLT().data());
                        },
                        false});
#endif
    out.push_back(op);
  }
  // geqrf
  {
    Op op{"geqrf", false, [](double n) { return 4.0 / 3.0 * n * n * n; }, {}};
    op.impls.push_back(
        {"affine", [](Problem& p) { benchmark::DoNotOptimize(la::qr(p.ta, "r").R.data<double>()); },
         true});
#ifdef AFFINE_HAVE_OPENBLAS
    op.impls.push_back(
        {"openblas",
         [](Problem& p) {
           p.fresh();
           const int n = static_cast<int>(p.n), lwork = static_cast<int>(p.lwork.size());
           int info = 0;
           dgeqrf_(&n, &n, p.work_a.data(), &n, p.tau.data(), p.lwork.data(), &lwork, &info);
         },
         true});
#endif
#ifdef AFFINE_HAVE_EIGEN
    op.impls.push_back({"eigen",
                        [](Problem& p) {
                          Eigen::HouseholderQR<EMat> qr(EMap(p.a.data(), p.n, p.n));
                          benchmark::DoNotOptimize(qr.matrixQR().data());
                        },
                        false});
#endif
    out.push_back(op);
  }
  // gesv
  {
    Op op{"gesv", false, [](double n) { return 2.0 / 3.0 * n * n * n + 2.0 * n * n; }, {}};
    op.impls.push_back(
        {"affine",
         [](Problem& p) { benchmark::DoNotOptimize(la::solve(p.ta, p.tb).data<double>()); }, true});
#ifdef AFFINE_HAVE_OPENBLAS
    op.impls.push_back({"openblas",
                        [](Problem& p) {
                          p.fresh();
                          const int n = static_cast<int>(p.n), one = 1;
                          int info = 0;
                          dgesv_(&n, &one, p.work_a.data(), &n, p.ipiv.data(), p.work_b.data(), &n,
                                 &info);
                        },
                        true});
#endif
#ifdef AFFINE_HAVE_EIGEN
    op.impls.push_back({"eigen",
                        [](Problem& p) {
                          Eigen::PartialPivLU<EMat> lu(EMap(p.a.data(), p.n, p.n));
                          Eigen::VectorXd x =
                              lu.solve(Eigen::Map<const Eigen::VectorXd>(p.b.data(), p.n));
                          benchmark::DoNotOptimize(x.data());
                        },
                        false});
#endif
    out.push_back(op);
  }
  // syevd (on the symmetric positive-definite input: any symmetric matrix does the same work)
  {
    Op op{"syevd", true, [](double n) { return 9.0 * n * n * n; }, {}};
    op.impls.push_back(
        {"affine",
         [](Problem& p) { benchmark::DoNotOptimize(la::eigh(p.ta).eigenvectors.data<double>()); },
         true});
#ifdef AFFINE_HAVE_OPENBLAS
    op.impls.push_back({"openblas",
                        [](Problem& p) {
                          p.fresh();
                          const int n = static_cast<int>(p.n);
                          int info = 0;
                          // Workspace as LAPACK documents it for jobz = 'V'; w first.
                          const int lwork = 1 + 6 * n + 2 * n * n, liwork = 3 + 5 * n;
                          p.spectral_work.resize(static_cast<size_t>(n + lwork));
                          p.spectral_iwork.resize(static_cast<size_t>(liwork));
                          dsyevd_("V", "L", &n, p.work_a.data(), &n, p.spectral_work.data(),
                                  p.spectral_work.data() + n, &lwork, p.spectral_iwork.data(),
                                  &liwork, &info);
                        },
                        true});
#endif
#ifdef AFFINE_HAVE_EIGEN
    op.impls.push_back({"eigen",
                        [](Problem& p) {
                          Eigen::SelfAdjointEigenSolver<EMat> es(EMap(p.a.data(), p.n, p.n));
                          benchmark::DoNotOptimize(es.eigenvectors().data());
                        },
                        false});
#endif
    out.push_back(op);
  }
  // gesdd
  {
    Op op{"gesdd", false, [](double n) { return 21.0 * n * n * n; }, {}};
    op.impls.push_back(
        {"affine",
         [](Problem& p) { benchmark::DoNotOptimize(la::svd(p.ta, false).U.data<double>()); },
         true});
#ifdef AFFINE_HAVE_OPENBLAS
    op.impls.push_back({"openblas",
                        [](Problem& p) {
                          p.fresh();
                          const int n = static_cast<int>(p.n);
                          int info = 0;
                          // s, U, VT, then the workspace LAPACK documents for jobz = 'S'.
                          const int lwork = 8 * n * n + 8 * n;
                          p.spectral_work.resize(static_cast<size_t>(n + 2 * n * n + lwork));
                          p.spectral_iwork.resize(static_cast<size_t>(8 * n));
                          double* s = p.spectral_work.data();
                          double* u = s + n;
                          double* vt = u + n * n;
                          dgesdd_("S", &n, &n, p.work_a.data(), &n, s, u, &n, vt, &n, vt + n * n,
                                  &lwork, p.spectral_iwork.data(), &info);
                        },
                        true});
#endif
#ifdef AFFINE_HAVE_EIGEN
    op.impls.push_back({"eigen",
                        [](Problem& p) {
                          Eigen::BDCSVD<EMat> svd(EMap(p.a.data(), p.n, p.n),
                                                  Eigen::ComputeThinU | Eigen::ComputeThinV);
                          benchmark::DoNotOptimize(svd.matrixU().data());
                        },
                        false});
#endif
    out.push_back(op);
  }
  return out;
}

void set_threads(int threads) {
  affine::set_num_threads(threads);
#ifdef AFFINE_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
}

void register_all() {
  for (const Op& op : ops())
    for (int64_t n : {64, 256, 1024, 2048})
      for (int threads : {1, 2})
        for (const Impl& impl : op.impls) {
          if (threads > 1 && !impl.threaded) continue;
          const std::string name = std::string(op.name) + "/" + impl.name + "/" +
                                   std::to_string(n) + "/threads:" + std::to_string(threads);
          benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(
              name.c_str(), [op, impl, n, threads](benchmark::State& st) {
                Problem p(n, op.spd);
                set_threads(threads);
                impl.run(p);  // warm caches, pools and buffers outside the timed loop
                for (auto _ : st) {
                  impl.run(p);
                  benchmark::ClobberMemory();
                }
                st.counters["GFLOPS"] = benchmark::Counter(
                    op.flops(double(n)) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
              });
          b->Unit(benchmark::kMillisecond);
          if (threads > 1) b->UseRealTime();
        }
}

// Batches of small matrices: <op>_batch/<impl>/<n>/threads:1, a [20000 / n, n, n] batch of
// symmetric matrices (n in 3, 8, 32), one call of affine's batched eigh / svd(A, false) against
// a loop of LAPACK calls over the same matrices (with their workspace allocated once, outside the
// loop). Time per batch; "matrices/s" is the count per second.
void register_batches() {
  for (const char* op : {"syevd_batch", "gesdd_batch"}) {
    const bool eig = std::string(op) == "syevd_batch";
    for (int64_t n : {3, 8, 32}) {
      for (const char* impl : {"affine", "openblas"}) {
#ifndef AFFINE_HAVE_OPENBLAS
        if (std::string(impl) == "openblas") continue;
#endif
        const std::string name =
            std::string(op) + "/" + impl + "/" + std::to_string(n) + "/threads:1";
        benchmark::RegisterBenchmark(name.c_str(), [eig, n, impl](benchmark::State& st) {
          const int64_t count = 20000 / n;
          std::mt19937_64 rng(42);
          std::normal_distribution<double> dist;
          std::vector<double> a(static_cast<size_t>(count * n * n));
          for (int64_t b = 0; b < count; ++b) {
            double* m = a.data() + b * n * n;
            for (int64_t i = 0; i < n; ++i)
              for (int64_t j = 0; j <= i; ++j) m[i * n + j] = m[j * n + i] = dist(rng);
          }
          set_threads(1);
          const affine::Tensor t = affine::Tensor::from_vector(a, {count, n, n});
          std::function<void()> run;
          if (std::string(impl) == "affine") {
            run = [&] {
              if (eig) {
                benchmark::DoNotOptimize(la::eigh(t).eigenvectors.data<double>());
              } else {
                benchmark::DoNotOptimize(la::svd(t, false).U.data<double>());
              }
            };
          }
#ifdef AFFINE_HAVE_OPENBLAS
          std::vector<double> work_a(a.size()), w(static_cast<size_t>(n)),
              u(static_cast<size_t>(n * n)), vt(static_cast<size_t>(n * n)),
              work(static_cast<size_t>(8 * n * n + 8 * n + 1));
          std::vector<int> iwork(static_cast<size_t>(8 * n + 3));
          if (std::string(impl) == "openblas") {
            run = [&] {
              std::memcpy(work_a.data(), a.data(), a.size() * sizeof(double));
              const int nn = static_cast<int>(n), lwork = static_cast<int>(work.size()),
                        liwork = static_cast<int>(iwork.size());
              int info = 0;
              for (int64_t b = 0; b < count; ++b) {
                double* m = work_a.data() + b * n * n;
                if (eig) {
                  dsyevd_("V", "L", &nn, m, &nn, w.data(), work.data(), &lwork, iwork.data(),
                          &liwork, &info);
                } else {
                  dgesdd_("S", &nn, &nn, m, &nn, w.data(), u.data(), &nn, vt.data(), &nn,
                          work.data(), &lwork, iwork.data(), &info);
                }
              }
            };
          }
#endif
          run();  // warm caches, pools and buffers outside the timed loop
          for (auto _ : st) {
            run();
            benchmark::ClobberMemory();
          }
          st.counters["matrices"] =
              benchmark::Counter(double(count), benchmark::Counter::kIsIterationInvariantRate);
        })->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  register_batches();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
