// nn::Module infrastructure: buffers, state_dict / load_state_dict, to(dtype), moving custom
// modules (into Sequential too) and nesting Sequentials.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "affine/affine.hpp"
#include "affine/nn/nn.hpp"
#include "test_util.hpp"

namespace {

using namespace affine;      // NOLINT(google-build-using-namespace)
using namespace affine::nn;  // NOLINT(google-build-using-namespace)
using affine::test::error_of;

// A user's module with a parameter, a float buffer, an int64 buffer and a child, all members.
// It declares no move constructor: the implicit one must be correct.
class Counter : public Module {
 public:
  explicit Counter(int64_t n, DType dtype = DType::f32)
      : scale(Tensor::full({n}, 2.0, dtype)),
        running(Tensor::zeros({n}, dtype)),
        calls(Tensor::scalar(0, DType::i64)),
        head(n, 1, gen_, true, dtype) {
    register_parameter("scale", scale);
    register_buffer("running", running);
    register_buffer("calls", calls);
    register_module("head", head);
  }
  Var forward(const Var& x) override {
    running.copy_(add(mul(running, 0.5), mul(mean(x.value(), {0}), 0.5)));
    calls.data<int64_t>()[0] += 1;
    return head(x * bind_param(scale, x));
  }
  std::string name() const override { return "Counter"; }

  Generator gen_{7};  // declared before head, which draws from it
  Parameter scale;
  Tensor running;
  Tensor calls;
  Linear head;
};

std::vector<std::string> names_of(const NamedTensors& list) {
  std::vector<std::string> out;
  for (const auto& [name, t] : list) out.push_back(name);
  return out;
}

bool same_values(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || !allclose(a[i].second, b[i].second, 0, 0)) return false;
  }
  return true;
}

NamedTensors snapshot(Module& m) {
  NamedTensors out;
  for (auto& [name, t] : m.state_dict()) out.emplace_back(name, t.clone());
  return out;
}

// ---- buffers and state_dict -------------------------------------------------------------------

TEST(Module, BuffersAreListedAndInStateDictInPyTorchOrder) {
  Sequential net{Linear(3, 3), Counter(3)};
  std::vector<std::string> buffer_names;
  for (auto& [name, b] : net.named_buffers()) buffer_names.push_back(name);
  EXPECT_EQ(buffer_names, (std::vector<std::string>{"1.running", "1.calls"}));
  EXPECT_EQ(net.buffers().size(), 2U);
  EXPECT_EQ(net.buffers()[1], &net.at<Counter>(1).calls);
  // Buffers are not parameters: optimizers never see them.
  EXPECT_EQ(net.parameters().size(), 2U + 1 + 2);
  // torch.nn.Module.state_dict(): each module's parameters, its buffers, then its children.
  EXPECT_EQ(names_of(net.state_dict()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.scale", "1.running", "1.calls",
                                      "1.head.weight", "1.head.bias"}));
}

TEST(Module, StateDictSharesStorage) {
  Counter m(2);
  const NamedTensors sd = m.state_dict();
  ASSERT_EQ(sd.size(), 5U);
  EXPECT_TRUE(sd[0].second.shares_storage(m.scale.value));
  EXPECT_TRUE(sd[1].second.shares_storage(m.running));
  EXPECT_EQ(sd[2].second.dtype(), DType::i64);
}

TEST(Module, RegisterNamesAreChecked) {
  struct Bad : Module {
    Tensor b = Tensor::zeros({1});
    Parameter p{Tensor::zeros({1})};
    Var forward(const Var& x) override { return x; }
    std::string name() const override { return "Bad"; }
    void reg_buffer(const std::string& n) { register_buffer(n, b); }
    void reg_param(const std::string& n) { register_parameter(n, p); }
    void reg_owned(std::unique_ptr<Module> m) { register_module("m", std::move(m)); }
  } bad;
  bad.reg_buffer("x");
  EXPECT_EQ(error_of([&] { bad.reg_param("x"); }),
            "Module::register_parameter: 'x' is already a buffer");
  EXPECT_EQ(error_of([&] { bad.reg_buffer("a.b"); }),
            "Module::register_buffer: invalid name 'a.b' (must be non-empty and contain no '.')");
  EXPECT_EQ(error_of([&] { bad.reg_owned(nullptr); }),
            "Module::register_module: 'm' is a null module");
}

// ---- load_state_dict --------------------------------------------------------------------------

TEST(Module, LoadStateDictRoundTripsInPlace) {
  Counter a(3);
  a.scale.value.fill_(0.25);
  a(Tensor::ones({4, 3}));  // moves the buffers
  Counter b(3);
  const Tensor scale_storage = b.scale.value;
  const LoadStateDictResult r = b.load_state_dict(a.state_dict());
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  EXPECT_TRUE(same_values(b.state_dict(), a.state_dict()));
  EXPECT_EQ(b.calls.item(), 1);
  EXPECT_TRUE(scale_storage.shares_storage(b.scale.value));  // copied in place
  // Copies, not shared storage: changing a afterwards leaves b.
  a.scale.value.fill_(9);
  EXPECT_EQ(b.scale.value.to_vector<double>(), (std::vector<double>{0.25, 0.25, 0.25}));
}

TEST(Module, LoadStateDictConvertsFloatDtypes) {
  Counter f32(2);
  f32.scale.value.fill_(1.0 / 3.0);
  Counter f64(2, DType::f64);
  f64.load_state_dict(f32.state_dict());
  EXPECT_EQ(f64.scale.value.dtype(), DType::f64);
  EXPECT_EQ(f64.scale.value.to_vector<double>()[0], static_cast<double>(1.0F / 3.0F));
  EXPECT_TRUE(allclose(f64.head.weight.value, f32.head.weight.value, 0, 0));
  // And back: float64 rounds to float32.
  f64.scale.value.fill_(0.1);
  f32.load_state_dict(f64.state_dict());
  EXPECT_EQ(f32.scale.value.to_vector<float>()[0], 0.1F);
}

TEST(Module, LoadStateDictReportsEveryProblemAndChangesNothing) {
  Counter m(2);
  const NamedTensors before = snapshot(m);
  NamedTensors state = snapshot(m);
  state[0].second = Tensor::zeros({3});                 // scale: wrong shape
  state[2].second = Tensor::scalar(4);                  // calls: float for an int64 buffer
  state.erase(state.begin() + 1);                       // running: missing
  state.emplace_back("extra", Tensor::zeros({1}));      // not in the module
  state.emplace_back("head.bias", Tensor::zeros({1}));  // twice
  EXPECT_EQ(error_of([&] { m.load_state_dict(state); }),
            "load_state_dict: the state does not match the module (5 problems):\n"
            "  load_state_dict: 'head.bias' appears twice in the state\n"
            "  load_state_dict: 'scale' is [3] in the state but [2] in the model\n"
            "  load_state_dict: 'running' is in the model but missing from the state\n"
            "  load_state_dict: 'calls' is F32 [] in the state but I64 [] in the model\n"
            "  load_state_dict: 'extra' is in the state but not in the model");
  EXPECT_TRUE(same_values(m.state_dict(), before));

  NamedTensors undefined = snapshot(m);
  undefined[0].second = Tensor();
  EXPECT_EQ(error_of([&] { m.load_state_dict(undefined); }),
            "load_state_dict: the state does not match the module (1 problem):\n"
            "  load_state_dict: 'scale' is undefined in the state");
}

TEST(Module, NonStrictLoadSkipsAndReportsNames) {
  Counter m(2);
  NamedTensors state = snapshot(m);
  state.erase(state.begin() + 1);
  state.emplace_back("extra", Tensor::zeros({1}));
  state[0].second = Tensor::full({2}, 5.0);
  const LoadStateDictResult r = m.load_state_dict(state, /*strict=*/false);
  EXPECT_EQ(r.missing_keys, std::vector<std::string>{"running"});
  EXPECT_EQ(r.unexpected_keys, std::vector<std::string>{"extra"});
  EXPECT_EQ(m.scale.value.to_vector<double>(), (std::vector<double>{5, 5}));
  // A wrong shape is an error even when not strict, as in PyTorch.
  state[0].second = Tensor::zeros({5});
  EXPECT_EQ(error_of([&] { m.load_state_dict(state, false); }),
            "load_state_dict: the state does not match the module (1 problem):\n"
            "  load_state_dict: 'scale' is [5] in the state but [2] in the model");
}

// ---- to(dtype) --------------------------------------------------------------------------------

TEST(Module, ToConvertsParametersGradsAndFloatBuffers) {
  Sequential net{Linear(3, 3), Counter(3)};
  const Tensor w32 = net.at<Linear>(0).weight.value.clone();
  Module& same = net.to(DType::f64);
  EXPECT_EQ(&same, &net);
  for (Parameter* p : net.parameters()) {
    EXPECT_EQ(p->value.dtype(), DType::f64);
    EXPECT_EQ(p->grad.dtype(), DType::f64);
  }
  EXPECT_EQ(net.at<Counter>(1).running.dtype(), DType::f64);
  EXPECT_EQ(net.at<Counter>(1).calls.dtype(), DType::i64);           // counts stay int64
  EXPECT_TRUE(allclose(net.at<Linear>(0).weight.value, w32, 0, 0));  // exact widening
  // The model now trains in float64.
  Tape tape;
  Var loss = sum(net(tape.leaf(Tensor::ones({2, 3}, DType::f64), false)));
  EXPECT_EQ(loss.dtype(), DType::f64);
  loss.backward();
  EXPECT_EQ(net.parameters()[0]->grad.dtype(), DType::f64);
  EXPECT_EQ(error_of([&] { net.to(DType::i64); }),
            "Module::to: dtype must be float32 or float64, got int64");
}

// ---- moving custom modules ---------------------------------------------------------------------

TEST(Module, ImplicitMoveRetargetsRegisteredMembers) {
  Counter a(2);
  a.scale.value.fill_(3);
  a.eval();
  Counter b(std::move(a));
  const auto params = b.named_parameters();
  ASSERT_EQ(params.size(), 3U);
  EXPECT_EQ(params[0].second, &b.scale);
  EXPECT_EQ(params[1].second, &b.head.weight);
  EXPECT_EQ(b.named_buffers()[0].second, &b.running);
  EXPECT_EQ(b.children()[0].second, &b.head);
  EXPECT_FALSE(b.is_training());
  EXPECT_FALSE(b.head.is_training());
  EXPECT_EQ(b.scale.value.to_vector<double>(), (std::vector<double>{3, 3}));
  EXPECT_TRUE(a.parameters().empty());  // the moved-from module lists nothing
}

TEST(Sequential, TakesCustomModulesByMoveAndTrainsThem) {
  Counter c(2);
  c.scale.value.fill_(0.5);
  Sequential net{Linear(2, 2), std::move(c), Sigmoid()};
  Counter& inside = net.at<Counter>(1);
  EXPECT_EQ(net.parameters()[2], &inside.scale);
  EXPECT_EQ(names_of(net.state_dict())[2], "1.scale");
  Tape tape;
  sum(net(tape.leaf(Tensor::ones({3, 2}), false))).backward();
  // The gradient reached the Sequential's copy of the custom module's parameter.
  EXPECT_GT(sum(abs(inside.scale.grad)).item(), 0);
  EXPECT_EQ(inside.calls.item(), 1);
}

TEST(Sequential, BracesAroundASequentialNest) {
  Sequential body{Linear(2, 3), Tanh()};
  Parameter* w = body.parameters()[0];
  Sequential net{std::move(body)};
  ASSERT_EQ(net.size(), 1);
  EXPECT_EQ(net.at<Sequential>(0).size(), 2);
  EXPECT_EQ(names_of(net.state_dict()), (std::vector<std::string>{"0.0.weight", "0.0.bias"}));
  EXPECT_EQ(net.parameters()[0], w);  // layers stay where they were on the heap
  // Initialising from a Sequential without braces still moves.
  Sequential moved = std::move(net);
  EXPECT_EQ(moved.size(), 1);
  EXPECT_EQ(moved.parameters()[0], w);
}

}  // namespace
