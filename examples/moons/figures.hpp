// The static figures, built from recorded snapshots with affine::viz (which knows nothing of
// training): each function returns a viz::Figure, saved as an SVG file and inlined in the page.
#pragma once

#include <affine/viz/figure.hpp>

#include "options.hpp"
#include "record.hpp"

namespace moons {

/// data.svg: the two moons (the post's fig. 2).
affine::viz::Figure data_figure(const History& h, const Options& o);
/// transform.svg: the data, a random linear map W x and the affine map W x + b on the same axes,
/// with the origin and the images of e1, e2 (fig. 3).
affine::viz::Figure transform_figure(const History& h, const Options& o);
/// embedding.svg: the 2-D tanh embedding at the figure epochs, with the output layer's line
/// w . z + b = 0 in each panel (fig. 6a).
affine::viz::Figure embedding_figure(const History& h);
/// boundary.svg: p(class 1) shading and the p = 0.5 curve in the input plane at the same epochs
/// (fig. 6b).
affine::viz::Figure boundary_figure(const History& h);
/// curves.svg: loss and accuracy per epoch, training and test.
affine::viz::Figure curves_figure(const History& h);

}  // namespace moons
