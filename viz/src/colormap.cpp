#include "affine/viz/colormap.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace affine::viz {

std::string Color::css() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "#000000";
  const std::array<std::uint8_t, 3> c{r, g, b};
  for (std::size_t i = 0; i < 3; ++i) {
    s[1 + 2 * i] = digits[c[i] >> 4];
    s[2 + 2 * i] = digits[c[i] & 15];
  }
  return s;
}

Color class_color(int k) {
  static constexpr std::array<Color, 8> order{
      palette::blue,           palette::orange,   palette::bluish_green, palette::vermillion,
      palette::reddish_purple, palette::sky_blue, palette::yellow,       palette::black};
  const int n = static_cast<int>(order.size());
  return order[static_cast<std::size_t>(((k % n) + n) % n)];
}

Color mix(Color a, Color b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto ch = [t](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + (y - x) * t));
  };
  return {ch(a.r, b.r), ch(a.g, b.g), ch(a.b, b.b)};
}

Colormap::Colormap(std::vector<Color> stops) : stops_(std::move(stops)) {
  if (stops_.empty()) throw std::invalid_argument("Colormap: needs at least one colour stop");
}

Color Colormap::operator()(double t) const {
  if (stops_.size() == 1 || !(t > 0.0)) return stops_.front();  // NaN lands here too
  if (t >= 1.0) return stops_.back();
  const double x = t * static_cast<double>(stops_.size() - 1);
  const auto i = static_cast<std::size_t>(x);
  return mix(stops_[i], stops_[i + 1], x - static_cast<double>(i));
}

Colormap Colormap::blue_orange() {
  return Colormap({Color::hex(0x08519C), Color::hex(0x3E8EC4), Color::hex(0x9CC9E6),
                   Color::hex(0xF4F4F4), Color::hex(0xFCCF96), Color::hex(0xF0A035),
                   Color::hex(0xB35806)});
}

Colormap Colormap::blues() {
  return Colormap({Color::hex(0xF7FBFF), Color::hex(0xC6DBEF), Color::hex(0x6BAED6),
                   Color::hex(0x2171B5), Color::hex(0x08306B)});
}

}  // namespace affine::viz
