// affine::viz: dependency-free SVG figures and self-contained HTML pages. It plots numbers and
// functions, never tensors or modules, so it builds and installs on its own.
#pragma once

#include "affine/viz/axes.hpp"
#include "affine/viz/boundary.hpp"
#include "affine/viz/colormap.hpp"
#include "affine/viz/contour.hpp"
#include "affine/viz/figure.hpp"
#include "affine/viz/file.hpp"
#include "affine/viz/geometry.hpp"
#include "affine/viz/html.hpp"
#include "affine/viz/svg.hpp"
