// Lifetimes: a Var outliving its Tape, a Parameter outliving its recording or its optimizer's
// registration, modules moved after an optimizer was built. Each is an affine::Error, never a read
// of freed memory (this file runs under AddressSanitizer in scripts/test.sh).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "affine/affine.hpp"
#include "test_util.hpp"

namespace affine {
namespace {

using test::error_of;

bool contains(const std::string& s, const std::string& piece) {
  return s.find(piece) != std::string::npos;
}

TEST(Lifetime, VarOutlivingItsTapeIsAnError) {
  Var y;
  Var leaf;
  {
    Tape tape;
    leaf = tape.leaf(Tensor::ones({2}));
    y = sum(leaf * leaf);
  }
  const char* destroyed = "Var: handle from a destroyed tape";
  EXPECT_TRUE(contains(error_of([&] { (void)y.value(); }), destroyed));
  EXPECT_TRUE(contains(error_of([&] { (void)y.tape(); }), destroyed));
  EXPECT_TRUE(contains(error_of([&] { y.backward(); }), destroyed));
  EXPECT_TRUE(contains(error_of([&] { (void)leaf.grad(); }), destroyed));
  EXPECT_TRUE(contains(error_of([&] { (void)y.requires_grad(); }), destroyed));
  EXPECT_TRUE(contains(error_of([&] { (void)(leaf + 1.0); }), destroyed));
  EXPECT_TRUE(contains(error_of([&] { (void)y.detach(); }), destroyed));
  // Another tape's backward from a dead root is refused the same way.
  Tape other;
  EXPECT_TRUE(contains(error_of([&] { other.backward(y); }), destroyed));
}

TEST(Lifetime, ConstantsNeedNoTape) {
  Var c(Tensor::ones({2}));
  EXPECT_EQ(c.tape(), nullptr);
  EXPECT_EQ(sum(c + c).value().item(), 4.0);
}

TEST(Lifetime, ParameterDestroyedBeforeBackwardIsAnError) {
  Tape tape;
  auto p = std::make_unique<Parameter>(Tensor::ones({2}));
  Var loss = sum(tape.param(*p) * 2.0);
  p.reset();
  EXPECT_TRUE(contains(error_of([&] { loss.backward(); }),
                       "a parameter recorded with Tape::param was destroyed or moved from"));
}

TEST(Lifetime, ParameterMovedFromBeforeBackwardIsAnError) {
  Tape tape;
  Parameter p(Tensor::ones({2}));
  Var loss = sum(tape.param(p) * 2.0);
  Parameter q(std::move(p));
  EXPECT_TRUE(contains(error_of([&] { loss.backward(); }), "destroyed or moved from"));
  EXPECT_TRUE(q.value.defined());
}

TEST(Lifetime, ParameterCopiesAreNewParameters) {
  Parameter p(Tensor::ones({2}));
  std::weak_ptr<const void> token = p.lifetime();
  {
    Parameter copy(p);
    EXPECT_TRUE(copy.value.shares_storage(p.value));
  }
  Parameter other(Tensor::zeros({3}));
  p = other;  // assignment keeps p's identity
  EXPECT_FALSE(token.expired());
  p = Parameter(Tensor::zeros({1}));
  EXPECT_FALSE(token.expired());
  Parameter moved(std::move(p));
  EXPECT_TRUE(token.expired());
}

}  // namespace
}  // namespace affine
