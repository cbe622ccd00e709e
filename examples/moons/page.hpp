// index.html: one self-contained page (inline SVG, JS and CSS; nothing fetched) that animates the
// embedding and the decision boundary for every epoch and shows the static figures.
#pragma once

#include <string>

#include "options.hpp"
#include "record.hpp"

namespace moons {

struct StaticFigures {
  std::string data, transform, curves;  ///< inline <svg> elements (the small multiples of
                                        ///< embedding.svg and boundary.svg are drawn by the page)
};

std::string build_page(const History& h, const Options& o, const StaticFigures& figures);

}  // namespace moons
