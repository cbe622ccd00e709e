// A self-contained HTML page (no external resources) to hold inline SVG figures.
#pragma once

#include <string>
#include <string_view>

namespace affine::viz {

// "<!DOCTYPE html>..." with UTF-8, a viewport, a readable default style, `title` (escaped) as
// the page title, and `body` (raw HTML, e.g. Figure::svg_inline() output) as the body. `css`
// and `script` are inserted verbatim into <style> and a <script> at the end of the body.
std::string html_page(std::string_view title, std::string_view body, std::string_view css = {},
                      std::string_view script = {});

}  // namespace affine::viz
