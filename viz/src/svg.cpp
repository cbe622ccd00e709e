#include "affine/viz/svg.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace affine::viz {

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[400];
  // to_chars never consults the locale, unlike printf, so "1.5" stays "1.5" under de_DE.
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (ec != std::errc{}) return "0";  // only for magnitudes far beyond any pixel coordinate
  std::string s(buf, end);
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string fmt(double v, int decimals) {
  std::string s = fixed(v, decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (u < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
          out += '?';
        else
          out += ch;
    }
  }
  return out;
}

Attrs& Attrs::num(std::string_view key, double value, int decimals) {
  s_ += ' ';
  s_ += key;
  s_ += "=\"";
  s_ += fmt(value, decimals);
  s_ += '"';
  return *this;
}

Attrs& Attrs::str(std::string_view key, std::string_view value) {
  s_ += ' ';
  s_ += key;
  s_ += "=\"";
  s_ += xml_escape(value);
  s_ += '"';
  return *this;
}

Attrs& Attrs::color(std::string_view key, Color c) { return str(key, c.css()); }

PathData& PathData::move(double x, double y) {
  if (!d_.empty()) d_ += ' ';
  d_ += 'M';
  d_ += fmt(x);
  d_ += ' ';
  d_ += fmt(y);
  return *this;
}

PathData& PathData::line(double x, double y) {
  d_ += 'L';
  d_ += fmt(x);
  d_ += ' ';
  d_ += fmt(y);
  return *this;
}

PathData& PathData::close() {
  d_ += 'Z';
  return *this;
}

Svg::Svg(double width, double height) : width_(width), height_(height) {}

void Svg::element(std::string_view tag, const Attrs& attrs) {
  body_ += '<';
  body_ += tag;
  body_ += attrs.text();
  body_ += "/>\n";
}

void Svg::open(std::string_view tag, const Attrs& attrs) {
  body_ += '<';
  body_ += tag;
  body_ += attrs.text();
  body_ += ">\n";
  open_.emplace_back(tag);
}

void Svg::close() {
  if (open_.empty()) throw std::logic_error("Svg::close: no open element");
  body_ += "</";
  body_ += open_.back();
  body_ += ">\n";
  open_.pop_back();
}

void Svg::text(double x, double y, std::string_view content, const Attrs& attrs) {
  body_ += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + '"';
  body_ += attrs.text();
  body_ += '>';
  body_ += xml_escape(content);
  body_ += "</text>\n";
}

void Svg::comment(std::string_view text) {
  std::string safe = xml_escape(text);
  for (std::size_t p; (p = safe.find("--")) != std::string::npos;) safe.replace(p, 2, "- -");
  body_ += "<!-- " + safe + " -->\n";
}

std::string Svg::document(std::string_view title, bool prolog, const Attrs& root_attrs) const {
  if (!open_.empty())
    throw std::logic_error("Svg::document: element <" + open_.back() + "> was never closed");
  std::string out;
  out.reserve(body_.size() + 512);
  if (prolog) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\"";
  out += Attrs()
             .num("width", width_)
             .num("height", height_)
             .str("viewBox", "0 0 " + fmt(width_) + ' ' + fmt(height_))
             .str("font-family", "DejaVu Sans, Helvetica, Arial, sans-serif")
             .num("font-size", 12)
             .text();
  out += root_attrs.text();
  out += ">\n<title>" + xml_escape(title) + "</title>\n";
  out += body_;
  out += "</svg>\n";
  return out;
}

}  // namespace affine::viz
