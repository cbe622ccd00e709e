// The code of docs/custom_modules.md, compiled and run by ctest. Each block between
// "// doc-region: NAME" and "// doc-region-end" below is a ```cpp block of the markdown (preceded
// there by "<!-- doc-region: NAME -->"); DocMatchesTheCode checks that the two are the same text,
// so the document cannot drift from code that builds and passes. The checks (EXPECT_*) stay
// outside the regions: the document shows what a user writes.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

// doc-region: includes
#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"

using namespace affine;  // NOLINT(google-build-using-namespace)
// doc-region-end

namespace {

// doc-region: block
// y = x + alpha * fc2(relu(fc1(x))): a residual block whose branch is scaled by a learned
// scalar alpha that starts at 0, so the block starts as the identity.
class ResidualBlock : public nn::Module {
 public:
  ResidualBlock(int64_t features, int64_t hidden)
      : fc1(features, hidden), fc2(hidden, features), alpha(Tensor::zeros({1})) {
    register_module("fc1", fc1);  // a child: its parameters become "fc1.weight", "fc1.bias"
    register_module("fc2", fc2);
    register_parameter("alpha", alpha);  // our own parameter, "alpha"
  }

  Var forward(const Var& x) override {
    const Var branch = fc2(relu(fc1(x)));          // children are called like functions
    return x + nn::bind_param(alpha, x) * branch;  // alpha joins x's tape
  }

  std::string name() const override { return "ResidualBlock"; }

  nn::Linear fc1, fc2;  // data members, registered above
  Parameter alpha;
};
// doc-region-end

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("affine_doc_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(CustomModulesDoc, ResidualBlockTrainsSavesAndLoads) {
  const std::string path = temp_path("model.safetensors");
  {
    // doc-region: inspect
    ResidualBlock block(4, 8);
    for (const auto& [name, p] : block.named_parameters()) {
      std::cout << name << " " << p->value.shape() << "\n";
    }
    // alpha [1]            (the module's own parameters first,
    // fc1.weight [8, 4]     then each child's, in registration order)
    // fc1.bias [8]
    // fc2.weight [4, 8]
    // fc2.bias [4]
    // doc-region-end
    const auto named = block.named_parameters();
    ASSERT_EQ(named.size(), 5U);
    EXPECT_EQ(named[0].first, "alpha");
    EXPECT_EQ(named[1].first, "fc1.weight");
    EXPECT_EQ(named[1].second->value.shape(), Shape({8, 4}));
    EXPECT_EQ(named[4].first, "fc2.bias");
  }

  // doc-region: sequential
  manual_seed(0);  // layers built without a Generator draw from the default one
  nn::Sequential net{nn::Linear(2, 16), nn::Tanh(), ResidualBlock(16, 32), nn::Linear(16, 1)};
  nn::optim::Adam opt(net.parameters(), {.lr = 0.02});  // built once the model is in place
  // doc-region-end
  EXPECT_EQ(net.named_parameters()[2].first, "2.alpha");  // after 0.weight, 0.bias

  // doc-region: train
  auto [x, y] = nn::data::make_moons(200, /*noise=*/0.1, /*seed=*/1);
  Tape tape;
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < 150; ++step, tape.clear()) {
    Var loss = binary_cross_entropy_with_logits(net(tape.leaf(x, /*requires_grad=*/false)), y);
    (step == 0 ? first_loss : last_loss) = loss.item();
    opt.zero_grad();
    loss.backward();  // reaches alpha through bind_param, and fc1, fc2 through the Linears
    opt.step();
  }
  const double alpha = net.at<ResidualBlock>(2).alpha.value.item();  // no longer 0
  // doc-region-end
  EXPECT_LT(last_loss, 0.5 * first_loss);
  EXPECT_GT(std::abs(alpha), 0.01);

  // doc-region: save
  nn::save(net, path, opt);  // "0.weight", ..., "2.alpha", "2.fc1.weight", ... and Adam's state

  manual_seed(7);  // a different initialisation, replaced by the file's
  nn::Sequential restored{nn::Linear(2, 16), nn::Tanh(), ResidualBlock(16, 32), nn::Linear(16, 1)};
  nn::optim::Adam restored_opt(restored.parameters(), {.lr = 0.02});
  nn::load(restored, path, restored_opt);

  const Tensor probe = Tensor::of({0.5, 0.25, -1, 0.5}, {2, 2});
  const Tensor a = net(probe).value();       // a Tensor input records nothing: inference
  const Tensor b = restored(probe).value();  // the same numbers
  // doc-region-end
  std::filesystem::remove(path);
  EXPECT_TRUE(allclose(a, b, 0, 0));
  EXPECT_EQ(restored.at<ResidualBlock>(2).alpha.value.item(), alpha);
  EXPECT_EQ(restored_opt.step_count(), 150);
}

// ---- the document equals the regions above ---------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

using Regions = std::vector<std::pair<std::string, std::string>>;  // name, text

// The regions of this file, each dedented by its marker's indentation.
Regions code_regions(const std::vector<std::string>& lines) {
  const std::string begin = "// doc-region: ", end = "// doc-region-end";
  Regions out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t indent = lines[i].find(begin);
    if (indent == std::string::npos || lines[i].find_first_not_of(' ') != indent) continue;
    std::string text;
    size_t k = i + 1;
    for (; k < lines.size() && lines[k].find(end) == std::string::npos; ++k) {
      text += (lines[k].size() > indent ? lines[k].substr(indent) : std::string()) + "\n";
    }
    EXPECT_LT(k, lines.size()) << "region " << lines[i] << " has no end marker";
    out.emplace_back(lines[i].substr(indent + begin.size()), text);
    i = k;
  }
  return out;
}

// The ```cpp blocks of the markdown, named by the "<!-- doc-region: NAME -->" line before each
// (an unnamed block gets the name "?", which matches no region).
Regions doc_regions(const std::vector<std::string>& lines) {
  const std::string marker = "<!-- doc-region: ";
  Regions out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != "```cpp") continue;
    std::string name = "?";
    if (i > 0 && lines[i - 1].starts_with(marker) && lines[i - 1].ends_with(" -->")) {
      name = lines[i - 1].substr(marker.size(), lines[i - 1].size() - marker.size() - 4);
    }
    std::string text;
    size_t k = i + 1;
    for (; k < lines.size() && lines[k] != "```"; ++k) text += lines[k] + "\n";
    out.emplace_back(name, text);
    i = k;
  }
  return out;
}

TEST(CustomModulesDoc, DocMatchesTheCode) {
  const std::string tests = std::string(AFFINE_TEST_DATA_DIR) + "/..";
  const Regions code = code_regions(lines_of(read_text(tests + "/custom_modules_doc_test.cpp")));
  const Regions doc = doc_regions(lines_of(read_text(tests + "/../docs/custom_modules.md")));
  ASSERT_EQ(code.size(), 6U);  // catches a broken marker that would silently drop a region
  ASSERT_EQ(doc.size(), code.size()) << "docs/custom_modules.md has a ```cpp block per region";
  for (size_t i = 0; i < code.size(); ++i) {
    EXPECT_EQ(doc[i].first, code[i].first) << "block " << i << " of docs/custom_modules.md";
    EXPECT_EQ(doc[i].second, code[i].second)
        << "docs/custom_modules.md block '" << doc[i].first
        << "' differs from tests/custom_modules_doc_test.cpp; copy the region over";
  }
}

}  // namespace
