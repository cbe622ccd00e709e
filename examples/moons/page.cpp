#include "page.hpp"
#include <affine/viz/html.hpp>
namespace moons {
std::string build_page(const History& h, const Options& o, const StaticFigures& f) {
  (void)h; (void)o;
  return affine::viz::html_page("moons", f.data + f.transform + f.embedding + f.boundary + f.curves);
}
}  // namespace moons
