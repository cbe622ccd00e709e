// The lowest layer: numbers, escaping and SVG elements as text. Every number goes through fmt(),
// a fixed-precision, locale-free formatter, so the same figure gives the same bytes on every run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "affine/viz/colormap.hpp"

namespace affine::viz {

// Fixed-point with at most `decimals` digits after the point, trailing zeros and "-0" removed
// ("12.5", "3", "-0.25"). Non-finite values print as "0": SVG has no spelling for them.
std::string fmt(double v, int decimals = 2);
// Exactly `decimals` digits after the point ("0.50"), for labels that line up; "-0.00" -> "0.00".
std::string fixed(double v, int decimals);

// Escapes & < > " ' and replaces control characters XML 1.0 forbids, so any label is safe both
// in text content and in attribute values.
std::string xml_escape(std::string_view text);

// Attribute list builder: Attrs().num("x", 1.5).str("fill", "none").
class Attrs {
 public:
  Attrs& num(std::string_view key, double value, int decimals = 2);
  Attrs& str(std::string_view key, std::string_view value);  // value is escaped
  Attrs& color(std::string_view key, Color c);
  const std::string& text() const { return s_; }

 private:
  std::string s_;
};

// SVG path data builder ("M x y L x y ... Z") in pixel coordinates.
class PathData {
 public:
  PathData& move(double x, double y);
  PathData& line(double x, double y);
  PathData& close();
  bool empty() const { return d_.empty(); }
  const std::string& text() const { return d_; }

 private:
  std::string d_;
};

// An SVG document under construction. open()/close() must pair up; document() checks they did.
class Svg {
 public:
  Svg(double width, double height);

  void element(std::string_view tag, const Attrs& attrs);  // <tag .../>
  void open(std::string_view tag, const Attrs& attrs = {});
  void close();
  void text(double x, double y, std::string_view content, const Attrs& attrs = {});
  void comment(std::string_view text);  // "--" is made safe

  double width() const { return width_; }
  double height() const { return height_; }

  // The finished <svg> element with a <title> (and an XML prolog when `prolog`). `root_attrs`
  // are added to the root element (e.g. a class or style for embedding in HTML).
  std::string document(std::string_view title, bool prolog = true,
                       const Attrs& root_attrs = {}) const;

 private:
  double width_, height_;
  std::string body_;
  std::vector<std::string> open_;
};

}  // namespace affine::viz
