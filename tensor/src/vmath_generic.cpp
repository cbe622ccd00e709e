// Portable vmath (vmath.hpp): the algorithms of vmath_impl.hpp on one float at a time, written
// without branches so that the plain loop in impl::apply is auto-vectorised at the baseline ISA
// (SSE2 on x86-64: cmpps/andps selects, pslld/psrad for the exponent bits, divps). Also the
// dispatcher, which lives here because this file is compiled for every target.
#include <bit>
#include <cstdint>

#include "affine/tensor/parallel.hpp"
#include "isa_table.hpp"
#include "vmath.hpp"
#include "vmath_impl.hpp"
#include "vmath_policy_generic.hpp"

namespace affine::detail::vmath {

const Table& table_generic() {
  static const Table t = impl::make_table<Scalar>();
  return t;
}

const Table& active() {
  static const Table& t = AFFINE_ACTIVE_ISA_TABLE(table_);
  return t;
}

}  // namespace affine::detail::vmath
