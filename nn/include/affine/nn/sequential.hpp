// Sequential: a chain of modules applied in order, as torch.nn.Sequential.
//
//   Sequential net{Linear(2, 100), Tanh(), Linear(100, 2), Tanh(), Linear(2, 1), Sigmoid()};
//   Sequential model{std::move(net), MyHead()};    // nests net as child "0"
//   net.push_back(std::make_unique<ReLU>());   // or net.emplace_back<ReLU>()
//   Var embedding = net.forward_to(x, 3);      // output of layer 3 (the 2-D tanh embedding)
//
// Children are named "0", "1", ... so parameters are "0.weight", "0.bias", "2.weight", ...
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "affine/nn/module.hpp"
#include "affine/tensor/export.hpp"

namespace affine::nn {

class AFFINE_API Sequential : public Module {
 public:
  /// One module of a brace list, moved in: any class derived from Module, custom ones included.
  class Item {
   public:
    template <class M>
    requires(std::derived_from<std::remove_cvref_t<M>, Module> && !std::is_lvalue_reference_v<M>)
        Item(M&& module)  // NOLINT(google-explicit-constructor)
        : module_(std::make_unique<std::remove_cvref_t<M>>(std::move(module))) {}

   private:
    friend class Sequential;
    mutable std::unique_ptr<Module> module_;  // taken by Sequential's constructor
  };

  Sequential() = default;
  /// Takes the modules by value (moved in): Sequential{Linear(2, 3), Tanh(), MyBlock(3)}.
  /// A Sequential in the list becomes one child: Sequential{std::move(body)} nests body, as
  /// torch.nn.Sequential(body) does (use `Sequential s = std::move(body);` to move instead).
  Sequential(std::initializer_list<Item> modules);
  Sequential(Sequential&& other) = default;

  /// Appends a module (named by its position); returns it. Throws affine::Error for nullptr.
  /// Strong guarantee: if it throws (std::bad_alloc), the Sequential is unchanged.
  Module& push_back(std::unique_ptr<Module> module);
  /// Appends a module moved in by value.
  template <class M>
  requires(std::derived_from<std::remove_cvref_t<M>, Module> &&
           !std::is_lvalue_reference_v<M>) std::remove_cvref_t<M>
  &push_back(M&& module) {
    auto owned = std::make_unique<std::remove_cvref_t<M>>(std::move(module));
    auto& ref = *owned;
    push_back(std::unique_ptr<Module>(std::move(owned)));
    return ref;
  }
  /// Constructs a module in place from args and appends it; returns it.
  template <class M, class... Args>
  M& emplace_back(Args&&... args) {
    auto owned = std::make_unique<M>(std::forward<Args>(args)...);
    auto& ref = *owned;
    push_back(std::unique_ptr<Module>(std::move(owned)));
    return ref;
  }

  /// Applies every layer in order.
  Var forward(const Var& x) override;
  /// Applies layers 0..k inclusive and returns layer k's output (negative k counts from the end).
  /// Throws affine::Error for k out of range.
  Var forward_to(const Var& x, int64_t k);
  /// The outputs of every layer, in order (the last one is forward(x)).
  std::vector<Var> forward_all(const Var& x);

  /// The i-th layer (negative counts from the end); throws affine::Error out of range.
  Module& operator[](int64_t i);
  const Module& operator[](int64_t i) const;
  /// The i-th layer as type M; throws affine::Error if it is not an M.
  template <class M>
  M& at(int64_t i) {
    auto* p = dynamic_cast<M*>(&(*this)[i]);
    if (p == nullptr) throw_wrong_type(i);
    return *p;
  }
  int64_t size() const { return static_cast<int64_t>(layers_.size()); }
  bool empty() const { return layers_.empty(); }

  /// Multi-line description: "Sequential(\n  (0): Linear(in=2, out=100, bias=true)\n ...)".
  std::string name() const override;

 private:
  size_t checked_index(int64_t i, const char* op) const;
  [[noreturn]] void throw_wrong_type(int64_t i) const;
  std::vector<Module*> layers_;  // owned through Module::register_module
};

}  // namespace affine::nn
