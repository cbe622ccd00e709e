// digits: a small convolutional network (model.hpp) on scikit-learn's 8x8 handwritten digits,
// trained with Adam on cross-entropy over the fixed 80/20 split in data/ (made by
// data/make_digits.py). Prints the test accuracy and writes to --out: loss.svg (training and test
// loss per epoch) and confusion.svg (true digit by predicted digit on the test set).
// With --distributed under mpirun, the same training runs data-parallel over the job's processes
// (each takes its share of every global batch of --batch rows); rank 0 prints and writes.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <affine/affine.hpp>
#include <affine/viz/figure.hpp>

#include "cluster.hpp"
#include "model.hpp"

namespace {

using namespace affine;

struct Options {
  std::string data = AFFINE_DIGITS_DATA_DIR;
  std::string out = "digits_out";
  int epochs = 30;
  int64_t batch = 32;
  double lr = 2e-3;
  uint64_t seed = 0;
  bool distributed = false;
};

// Mean cross-entropy and predicted classes of the model on x (inference: nothing recorded).
struct Evaluation {
  double loss = 0;
  std::vector<int64_t> predicted;
};

Evaluation evaluate(nn::Sequential& model, const Tensor& x, const Tensor& y) {
  model.eval();
  const Var logits = model(x);
  model.train();
  Evaluation e;
  e.loss = cross_entropy(logits, y).value().item();
  e.predicted = argmax(logits.value(), 1).to_vector<int64_t>();
  return e;
}

viz::Figure loss_figure(const std::vector<double>& epochs, const std::vector<double>& train,
                        const std::vector<double>& test) {
  viz::Figure fig(1, 1, 460, 300);
  fig.title("digits CNN: cross-entropy per epoch");
  auto& p = fig.panel(0);
  p.xlabel("epoch").ylabel("cross-entropy");
  p.line(epochs, train, {.color = viz::palette::blue, .width = 2, .label = "train"});
  p.line(epochs, test,
         {.color = viz::palette::vermillion, .width = 2, .dash = "6 3", .label = "test"});
  p.legend(viz::LegendPos::top_right);
  return fig;
}

viz::Figure confusion_figure(const std::vector<int64_t>& truth,
                             const std::vector<int64_t>& predicted, double accuracy) {
  std::vector<int64_t> counts(100, 0);
  std::vector<int64_t> per_class(10, 0);
  for (size_t i = 0; i < truth.size(); ++i) {
    ++counts[static_cast<size_t>(truth[i] * 10 + predicted[i])];
    ++per_class[static_cast<size_t>(truth[i])];
  }
  // Cell (predicted, true) shaded by the fraction of that true digit.
  viz::Grid grid;
  grid.x0 = 0;
  grid.x1 = 9;
  grid.y0 = 0;
  grid.y1 = 9;
  grid.nx = 10;
  grid.ny = 10;
  grid.values.resize(100);
  for (size_t t = 0; t < 10; ++t) {    // grid row t: true digit t
    for (size_t i = 0; i < 10; ++i) {  // column i: predicted digit i
      grid.values[t * 10 + i] = per_class[t] == 0 ? 0.0
                                                  : static_cast<double>(counts[t * 10 + i]) /
                                                        static_cast<double>(per_class[t]);
    }
  }
  viz::Figure fig(1, 1, 420, 420);
  char title[96];
  std::snprintf(title, sizeof title, "test confusion matrix (accuracy %.4f)", accuracy);
  fig.title(title);
  auto& p = fig.panel(0);
  p.xlabel("predicted digit").ylabel("true digit");
  p.heatmap(grid, {.cmap = viz::Colormap::blues(), .vmin = 0, .vmax = 1, .opacity = 0.9});
  for (int64_t t = 0; t < 10; ++t) {
    for (int64_t i = 0; i < 10; ++i) {
      const int64_t c = counts[static_cast<size_t>(t * 10 + i)];
      if (c == 0) continue;
      p.text(static_cast<double>(i), static_cast<double>(t), std::to_string(c),
             {.color = viz::palette::black, .anchor = viz::Anchor::middle, .dy = 4});
    }
  }
  return fig;
}

int run(const Options& o, examples::Cluster& cluster) {
  const std::filesystem::path data(o.data);
  const Tensor x_train = load_npy(data / "train_images.npy");
  const Tensor y_train = load_npy(data / "train_labels.npy");
  const Tensor x_test = load_npy(data / "test_images.npy");
  const Tensor y_test = load_npy(data / "test_labels.npy");
  const bool lead = cluster.lead();  // rank 0 prints and writes; every rank trains
  if (lead && cluster.size() > 1)
    std::printf("digits: data-parallel over %d processes (MPI)\n", cluster.size());
  if (lead)
    std::printf("digits: %lld training and %lld test images of 8x8\n",
                static_cast<long long>(x_train.shape()[0]),
                static_cast<long long>(x_test.shape()[0]));

  Generator gen(o.seed);
  nn::Sequential model = digits::make_model(gen);
  if (lead)
    std::printf("%s\n%lld parameters\n", model.name().c_str(),
                static_cast<long long>(model.parameter_count()));
  nn::Module& trained = cluster.wrap(model);  // model, or model data-parallel over the processes
  nn::optim::Adam opt(model.parameters(), {.lr = o.lr});
  nn::data::DataLoader loader(x_train, y_train, {.batch_size = o.batch, .seed = o.seed + 1});

  std::vector<double> epochs, train_loss, test_loss;
  Tape tape;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    double sum = 0;
    int64_t seen = 0;
    for (auto [xb, yb] : cluster.epoch(loader, x_train, y_train, epoch)) {
      tape.clear();
      opt.zero_grad();
      const Var loss = cross_entropy(trained(tape.leaf(xb, /*requires_grad=*/false)), yb);
      loss.backward();
      opt.step();
      sum += loss.value().item() * static_cast<double>(xb.shape()[0]);
      seen += xb.shape()[0];
    }
    tape.clear();
    sum = cluster.sum(sum);  // every rank's share of the epoch
    seen = static_cast<int64_t>(cluster.sum(static_cast<double>(seen)));
    if (!lead) continue;  // the weights are the same on every rank: rank 0 evaluates
    const Evaluation e = evaluate(model, x_test, y_test);
    epochs.push_back(epoch);
    train_loss.push_back(sum / static_cast<double>(seen));
    test_loss.push_back(e.loss);
    if (epoch % 5 == 0 || epoch == o.epochs) {
      std::printf("epoch %3d  train loss %.4f  test loss %.4f\n", epoch, train_loss.back(), e.loss);
    }
  }

  if (!lead) return 0;
  const Evaluation e = evaluate(model, x_test, y_test);
  const std::vector<int64_t> truth = y_test.to_vector<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) correct += e.predicted[i] == truth[i] ? 1 : 0;
  const double accuracy = static_cast<double>(correct) / static_cast<double>(truth.size());
  std::filesystem::create_directories(o.out);
  loss_figure(epochs, train_loss, test_loss).save(std::filesystem::path(o.out) / "loss.svg");
  confusion_figure(truth, e.predicted, accuracy)
      .save(std::filesystem::path(o.out) / "confusion.svg");
  std::printf(
      "trained %d epochs; test accuracy: %.4f (%lld of %zu); wrote %s/loss.svg and "
      "%s/confusion.svg\n",
      o.epochs, accuracy, static_cast<long long>(correct), truth.size(), o.out.c_str(),
      o.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Train a small CNN on scikit-learn's 8x8 digits; write loss.svg and confusion.svg.",
               "digits"};
  app.option_defaults()->always_capture_default();
  app.add_option("--data", o.data, "folder with the .npy files of data/make_digits.py");
  app.add_option("--out", o.out, "output folder for the SVG files");
  app.add_option("--epochs", o.epochs, "training epochs")->check(CLI::Range(1, 10'000));
  app.add_option("--batch", o.batch, "mini-batch size")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  app.add_option("--lr", o.lr, "Adam learning rate")->check(CLI::Range(1e-8, 10.0));
  app.add_option("--seed", o.seed, "seeds the weights and the batch order");
  app.add_flag("--distributed", o.distributed,
               "data-parallel training over MPI: start with mpirun -np N digits --distributed; "
               "--batch is the global batch (a multiple of N)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);  // prints the help or the error with the usage
    return status == 0 ? 0 : 2;
  }
  std::unique_ptr<examples::Cluster> cluster;
  try {
    cluster = std::make_unique<examples::Cluster>(argc, argv, o.distributed, "digits");
    return run(o, *cluster);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "digits: %s\n", e.what());
    if (cluster) cluster->abort_all(e.what());  // never leave the other processes waiting
    return 1;
  }
}
