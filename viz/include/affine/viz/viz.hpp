// affine::viz: dependency-free SVG figures and self-contained HTML pages.
#pragma once

#include "affine/viz/axes.hpp"
#include "affine/viz/colormap.hpp"
#include "affine/viz/contour.hpp"
#include "affine/viz/figure.hpp"
#include "affine/viz/file.hpp"
#include "affine/viz/geometry.hpp"
#include "affine/viz/html.hpp"
#include "affine/viz/svg.hpp"
