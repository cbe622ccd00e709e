#include "affine/viz/html.hpp"

#include "affine/viz/svg.hpp"

namespace affine::viz {

std::string html_page(std::string_view title, std::string_view body, std::string_view css,
                      std::string_view script) {
  std::string out;
  out.reserve(body.size() + css.size() + script.size() + 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + xml_escape(title) + "</title>\n<style>\n";
  out +=
      "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1100px;margin:2em "
      "auto;padding:0 1em;color:#222;line-height:1.5}\n"
      "svg{max-width:100%;height:auto}\nfigure{margin:1.5em 0}\n"
      "figcaption{color:#555;font-size:0.95em}\n";
  out += css;
  out += "\n</style>\n</head>\n<body>\n";
  out += body;
  if (!script.empty()) {
    out += "\n<script>\n";
    out += script;
    out += "\n</script>";
  }
  out += "\n</body>\n</html>\n";
  return out;
}

}  // namespace affine::viz
