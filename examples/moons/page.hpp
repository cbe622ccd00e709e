// index.html: one self-contained page (inline SVG, JS and CSS; nothing fetched) that animates the
// embedding and the decision boundary for every epoch and shows the static figures.
#pragma once

#include <string>

#include <vector>

#include "geometry.hpp"
#include "options.hpp"
#include "record.hpp"

namespace moons {

struct StaticFigures {
  std::string data, transform, curves;  ///< inline <svg> elements (the small multiples of
                                        ///< embedding.svg and boundary.svg are drawn by the page)
};

/// The page; `geometry` (one per epoch) gives the program's own SVD and PCA numbers, which the
/// page's script recomputes and checks.
std::string build_page(const History& h, const Options& o, const StaticFigures& figures,
                       const std::vector<EpochGeometry>& geometry);

}  // namespace moons
