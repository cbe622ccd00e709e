// moons: the experiment of "Neural Networks From Linear Algebraic Perspective", end to end.
//
// Trains a 2-100-2-1 network (Linear, tanh, Linear -> the 2-D "embedding", tanh, Linear, sigmoid)
// on two interleaving half moons with binary cross-entropy, records what the network does to the
// plane after every epoch, and writes the post's figures and an animated page to --out.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <affine/affine.hpp>
#include <affine/viz/figure.hpp>

#include "cluster.hpp"
#include "figures.hpp"
#include "geometry.hpp"
#include "geometry_figures.hpp"
#include "options.hpp"
#include "output.hpp"
#include "page.hpp"
#include "record.hpp"

namespace {

using namespace affine;

// SIGINT/SIGTERM: the handler only records the signal; the run checks it between training steps
// and before committing its files, and unwinds with Interrupted, so OutputDir's destructor removes
// the staging folder and the folders this run created. main() then re-raises the signal, so the
// exit status says how the run ended (128 + signal).
volatile std::sig_atomic_t g_signal = 0;
extern "C" void record_signal(int sig) { g_signal = sig; }

struct Interrupted : std::exception {
  const char* what() const noexcept override { return "interrupted"; }
};

void check_interrupt() {
  if (g_signal != 0) throw Interrupted();
}
using moons::Options;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Parses the command line into o. Returns -1 to go on, else the exit status (0 for --help, 2 for
// a bad flag or value, after printing the usage).
int parse(int argc, char** argv, Options& o) {
  CLI::App app{
      "Train a 2-100-2-1 tanh network on two moons and write the figures of \"Neural Networks "
      "From Linear Algebraic Perspective\" (SVG) and an animated page (index.html) to --out.",
      "moons"};
  app.option_defaults()->always_capture_default();
  // A finite number in [lo, hi] (or (lo, hi] / [lo, hi) when an end is open), with the interval
  // in the message; CLI11's Range would let NaN through.
  const auto number_in = [](double lo, bool lo_open, double hi, bool hi_open) {
    const std::string range = std::string(lo_open ? "(" : "[") + CLI::detail::to_string(lo) + ", " +
                              CLI::detail::to_string(hi) + (hi_open ? ")" : "]");
    return CLI::Validator(
        [=](std::string& s) {
          double v = 0;
          try {
            size_t used = 0;
            v = std::stod(s, &used);
            if (used != s.size()) v = std::nan("");
          } catch (const std::exception&) {
            v = std::nan("");
          }
          const bool ok =
              std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
          return ok ? std::string() : "must be a number in " + range + ", got '" + s + "'";
        },
        "in " + range);
  };
  app.add_option("--samples", o.samples, "points in the data set (80% train, 20% test)")
      ->check(CLI::Range(int64_t{10}, int64_t{10'000'000}));
  app.add_option("--noise", o.noise, "standard deviation of the Gaussian noise on the moons")
      ->check(number_in(0, false, 10, false));
  app.add_option("--epochs", o.epochs, "training epochs (epoch 0 is the untrained network)")
      ->check(CLI::Range(1, 100'000));
  app.add_option("--optimizer", o.optimizer, "adam, or sgd (the post's plain gradient descent)")
      ->check(CLI::IsMember({"adam", "sgd"}));
  auto* lr = app.add_option("--lr", o.lr, "learning rate [default: 0.005 for adam, 0.1 for sgd]")
                 ->check(number_in(0, true, 100, false));
  lr->default_str("");
  auto* momentum = app.add_option("--momentum", o.momentum, "SGD momentum (sgd only)")
                       ->check(number_in(0, false, 1, true));
  app.add_option("--batch", o.batch,
                 "mini-batch size; 0 = the whole training set each step (full batch)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}));
  app.add_option("--seed", o.seed, "seeds the data, the split, the initial weights and the batches")
      ->check([](const std::string& v) {
        // CLI11 would wrap "-1" around to 2^64 - 1 and clamp 2^64 to 2^64 - 1: a seed is plain
        // digits whose value fits in 64 bits.
        uint64_t value = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
        const bool ok = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos &&
                        ec == std::errc() && end == v.data() + v.size();
        return ok ? std::string() : "must be an integer in [0, 2^64), got '" + v + "'";
      });
  app.add_option("--out", o.out, "output folder (created if missing)")
      ->check(
          [](const std::string& s) { return s.empty() ? std::string("must not be empty") : ""; });
  app.add_flag("--quiet", o.quiet, "no progress and no file list: only the summary line");
  app.add_flag("--distributed", o.distributed,
               "data-parallel training over MPI: start with mpirun -np N moons --distributed; "
               "--batch is the global batch, split over the N processes");
  app.failure_message(CLI::FailureMessage::help);
  try {
    app.parse(argc, argv);
    if (o.optimizer != "sgd" && momentum->count() > 0)
      throw CLI::ValidationError("--momentum", "applies to --optimizer sgd only");
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  if (lr->count() == 0) o.lr = o.optimizer == "adam" ? 0.005 : 0.1;
  return -1;
}

std::string describe(const Options& o, int64_t n_train) {
  char buf[160];
  const std::string batch =
      o.batch == 0 || o.batch >= n_train ? "full batch" : "batch " + std::to_string(o.batch);
  if (o.optimizer == "sgd")
    std::snprintf(buf, sizeof buf, "sgd, lr %g, momentum %g, %s", o.lr, o.momentum, batch.c_str());
  else
    std::snprintf(buf, sizeof buf, "adam, lr %g, %s", o.lr, batch.c_str());
  return buf;
}

void progress(const moons::Snapshot& s, int epochs, double elapsed, bool tty) {
  std::printf("%sepoch %*d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.1f s%s", tty ? "\r" : "",
              static_cast<int>(std::to_string(epochs).size()), s.epoch, epochs, s.train_loss,
              s.train_accuracy, s.test_accuracy, elapsed, tty ? "\x1b[K" : "\n");
  std::fflush(stdout);
}

int run(const Options& o, examples::Cluster& cluster) {
  // Fail on an unwritable folder now, not after training. Only rank 0 writes.
  std::optional<moons::OutputDir> out_dir;
  if (cluster.lead()) out_dir.emplace(o.out);

  // Data, split and initial weights all come from one generator: one seed, one experiment.
  Generator gen(o.seed);
  const auto data = nn::data::make_moons(o.samples, o.noise, gen);
  const auto split = nn::data::train_test_split(data.x, data.y, o.test_fraction, gen);
  const int64_t n_train = split.x_train.size(0);

  // The post's network: 2 -> 100 (tanh) -> 2 (tanh: the embedding) -> 1 (sigmoid).
  nn::Sequential net{nn::Linear(2, 100, gen), nn::Tanh(),   nn::Linear(100, 2, gen), nn::Tanh(),
                     nn::Linear(2, 1, gen),   nn::Sigmoid()};
  const nn::BCELoss loss_fn;
  nn::Module& model = cluster.wrap(net);  // net, or net data-parallel over the processes

  std::unique_ptr<nn::optim::Optimizer> opt;
  if (o.optimizer == "sgd")
    opt = std::make_unique<nn::optim::SGD>(
        net.parameters(), nn::optim::SGDOptions{.lr = o.lr, .momentum = o.momentum});
  else
    opt = std::make_unique<nn::optim::Adam>(net.parameters(), nn::optim::AdamOptions{.lr = o.lr});

  const int64_t batch = o.batch == 0 ? n_train : std::min(o.batch, n_train);
  nn::data::DataLoader loader(split.x_train, split.y_train,
                              {.batch_size = batch, .shuffle = batch < n_train, .seed = o.seed});

  const bool quiet = o.quiet || !cluster.lead();
  const bool tty = !quiet && ::isatty(STDOUT_FILENO) == 1;
  if (!quiet && cluster.size() > 1)
    std::printf("moons: data-parallel over %d processes (MPI)\n", cluster.size());
  if (!quiet)
    std::printf("moons: %lld samples (%lld train, %lld test), noise %g, seed %llu; %d epochs, %s\n",
                static_cast<long long>(o.samples), static_cast<long long>(n_train),
                static_cast<long long>(split.x_test.size(0)), o.noise,
                static_cast<unsigned long long>(o.seed), o.epochs, describe(o, n_train).c_str());

  moons::Recorder recorder(split, o.epochs);
  const auto t0 = Clock::now();
  double train_seconds = 0;
  const auto report = [&](const moons::Snapshot& s) {
    if (quiet) return;
    if (tty || s.epoch % 10 == 0 || s.epoch == o.epochs)
      progress(s, o.epochs, seconds_since(t0), tty);
  };
  if (cluster.lead()) report(recorder.record(net, 0));  // epoch 0: before training

  Tape tape;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto t_epoch = Clock::now();
    for (auto [xb, yb] : cluster.epoch(loader, split.x_train, split.y_train, epoch)) {
      check_interrupt();
      tape.clear();
      opt->zero_grad();
      const Var p = model(tape.leaf(xb, /*requires_grad=*/false));
      const Var loss = loss_fn(p, Var(yb));
      loss.backward();
      opt->step();
    }
    train_seconds += seconds_since(t_epoch);
    if (cluster.lead()) report(recorder.record(net, epoch));
  }
  tape.clear();
  if (!cluster.lead()) return 0;
  moons::OutputDir& out = *out_dir;
  const double total_seconds = seconds_since(t0);
  if (tty) std::printf("\n");

  // Files: everything goes to a staging folder first, then into place together.
  const moons::History& h = recorder.history();
  const auto data_fig = moons::data_figure(h, o);
  const auto transform_fig = moons::transform_figure(h, o);
  const auto embedding_fig = moons::embedding_figure(h);
  const auto boundary_fig = moons::boundary_figure(h);
  const auto curves_fig = moons::curves_figure(h);
  // The geometry of every epoch (SVD of each Linear, PCA of the hidden layer) from the weights.
  const auto geometry = moons::history_geometry(h);
  const auto layers_fig = moons::layers_figure(h, geometry);
  const auto svd_fig = moons::svd_figure(geometry, moons::fig3_map(o));
  const auto hidden_fig = moons::hidden_figure(h, geometry);
  out.write("data.svg", data_fig.svg());
  out.write("transform.svg", transform_fig.svg());
  out.write("embedding.svg", embedding_fig.svg());
  out.write("boundary.svg", boundary_fig.svg());
  out.write("curves.svg", curves_fig.svg());
  out.write("layers.svg", layers_fig.svg());
  out.write("svd.svg", svd_fig.svg());
  out.write("hidden.svg", hidden_fig.svg());
  out.write("geometry.json", moons::geometry_json(geometry));
  const moons::StaticFigures inline_figs{data_fig.svg_inline(), transform_fig.svg_inline(),
                                         curves_fig.svg_inline()};
  out.write("index.html", moons::build_page(h, o, inline_figs, geometry));
  nn::save(net, out.staged_path("model.safetensors").string(), nn::NamedTensors{},
           {{"model", "Linear(2,100) Tanh Linear(100,2) Tanh Linear(2,1) Sigmoid"},
            {"data", "make_moons samples=" + std::to_string(o.samples) +
                         " seed=" + std::to_string(o.seed)}});
  out.add("model.safetensors");
  check_interrupt();  // the last point where the run can still leave everything as it was
  out.commit();

  const auto& last = h.snapshots.back();
  std::printf(
      "trained %d epochs in %.2f s (%.2f s with snapshots): train loss %.4f, train accuracy "
      "%.4f, test loss %.4f, test accuracy %.4f\n",
      o.epochs, train_seconds, total_seconds, last.train_loss, last.train_accuracy, last.test_loss,
      last.test_accuracy);
  if (!o.quiet) {
    std::printf("wrote %s/:", o.out.c_str());
    for (const auto& [name, size] : out.committed())
      std::printf(" %s (%.0f KB)", name.c_str(), static_cast<double>(size) / 1024.0);
    std::printf("\nopen %s/index.html in a browser to watch the training\n", o.out.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int status = parse(argc, argv, o); status >= 0) return status;
  struct sigaction action = {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::unique_ptr<examples::Cluster> cluster;
  try {
    cluster = std::make_unique<examples::Cluster>(argc, argv, o.distributed, "moons");
    return run(o, *cluster);
  } catch (const Interrupted&) {
    // run() has unwound: its output folder is gone. End by the signal itself.
    std::fflush(stdout);
    std::signal(g_signal, SIG_DFL);
    std::raise(g_signal);
    return 128 + g_signal;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "moons: error: %s\n", e.what());
    if (cluster) cluster->abort_all(e.what());  // never leave the other processes waiting
    return 1;
  }
}
