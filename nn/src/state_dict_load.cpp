#include "state_dict_load.hpp"

#include <map>
#include <string>
#include <string_view>

#include "affine/tensor/error.hpp"
#include "safetensors_dtype.hpp"

namespace affine::nn::detail {

namespace {

bool is_float(DType d) { return d == DType::f32 || d == DType::f64; }

// Built by appending: g++ 12 warns falsely (-Wrestrict) on "'" + std::string(...).
std::string quoted(std::string_view name) {
  std::string s;
  s.reserve(name.size() + 2);
  s += '\'';
  s += name;
  s += '\'';
  return s;
}

}  // namespace

StateDictLoad plan_state_dict_load(const NamedTensors& target, const NamedTensors& source,
                                   bool strict, const char* where) {
  StateDictLoad plan;
  const std::string in_source = std::string(" in the ") + where;
  std::map<std::string_view, const Tensor*> by_name;
  std::vector<std::string_view> source_order;  // unexpected names are reported in source order
  for (const auto& [name, t] : source) {
    if (!by_name.emplace(name, &t).second) {
      plan.problems.push_back(quoted(name) + " appears twice" + in_source);
    } else {
      source_order.push_back(name);
    }
  }
  for (const auto& [name, dst] : target) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      if (strict) {
        plan.problems.push_back(quoted(name) + " is in the model but missing from the " + where);
      } else {
        plan.skipped.missing_keys.push_back(name);
      }
      continue;
    }
    const Tensor& src = *it->second;
    by_name.erase(it);
    if (!src.defined()) {
      plan.problems.push_back(quoted(name) + " is undefined" + in_source);
      continue;
    }
    // Floats convert either way (a float32 checkpoint loads into a float64 model); an int64
    // buffer (a count) takes only int64, and a float never takes int64.
    const bool dtype_ok =
        is_float(dst.dtype()) ? is_float(src.dtype()) : src.dtype() == dst.dtype();
    if (!dtype_ok) {
      plan.problems.push_back(quoted(name) + " is " + safetensors_dtype_name(src.dtype()) + " " +
                              to_string(src.shape()) + in_source + " but " +
                              safetensors_dtype_name(dst.dtype()) + " " + to_string(dst.shape()) +
                              " in the model");
    } else if (!(src.shape() == dst.shape())) {
      plan.problems.push_back(quoted(name) + " is " + to_string(src.shape()) + in_source + " but " +
                              to_string(dst.shape()) + " in the model");
    } else {
      plan.copies.emplace_back(dst, src);
    }
  }
  for (std::string_view name : source_order) {
    if (by_name.count(name) == 0) continue;
    if (strict) {
      plan.problems.push_back(quoted(name) + " is" + in_source + " but not in the model");
    } else {
      plan.skipped.unexpected_keys.emplace_back(name);
    }
  }
  return plan;
}

void apply_state_dict_load(const StateDictLoad& plan) {
  for (const auto& [dst, src] : plan.copies) {
    Tensor d = dst;  // a handle on the module's storage
    d.copy_(src);
  }
}

std::string state_dict_problems_message(const std::string& header, const char* op,
                                        const std::vector<std::string>& problems) {
  std::string msg = header + " (" + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem):" : " problems):");
  for (const auto& p : problems) msg += "\n  " + std::string(op) + ": " + p;
  return msg;
}

}  // namespace affine::nn::detail
