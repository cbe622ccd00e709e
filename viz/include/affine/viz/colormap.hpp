// Colours: an sRGB triple, the Okabe-Ito palette (distinguishable with the common forms of colour
// blindness) and piecewise-linear colour maps for shading scalar fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace affine::viz {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;

  // Color::hex(0x0072B2) reads like the CSS it stands for.
  static constexpr Color hex(std::uint32_t rgb) {
    return {static_cast<std::uint8_t>(rgb >> 16), static_cast<std::uint8_t>(rgb >> 8),
            static_cast<std::uint8_t>(rgb)};
  }
  // "#rrggbb", lower case, so output bytes never depend on how a colour was spelled.
  std::string css() const;
  friend constexpr bool operator==(Color, Color) = default;
};

// Okabe & Ito (2008), "Color Universal Design".
namespace palette {
inline constexpr Color black = Color::hex(0x000000);
inline constexpr Color orange = Color::hex(0xE69F00);
inline constexpr Color sky_blue = Color::hex(0x56B4E9);
inline constexpr Color bluish_green = Color::hex(0x009E73);
inline constexpr Color yellow = Color::hex(0xF0E442);
inline constexpr Color blue = Color::hex(0x0072B2);
inline constexpr Color vermillion = Color::hex(0xD55E00);
inline constexpr Color reddish_purple = Color::hex(0xCC79A7);
inline constexpr Color grey = Color::hex(0x555555);
}  // namespace palette

// Colour of class k: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow,
// black, then repeating. Class 0 and 1 are the pair that stays apart for every colour vision type.
Color class_color(int k);

// Linear interpolation in sRGB between a and b, t in [0, 1].
Color mix(Color a, Color b, double t);

// A colour map: evenly spaced stops, interpolated linearly; t outside [0, 1] is clamped.
class Colormap {
 public:
  explicit Colormap(std::vector<Color> stops);
  Color operator()(double t) const;
  const std::vector<Color>& stops() const { return stops_; }

  // Blue (t = 0, class 0) through near-white (t = 0.5) to orange (t = 1, class 1). Lightness
  // rises symmetrically to the middle, so the p = 0.5 region reads as neutral even in greyscale;
  // blue/orange is the diverging pair that survives deuteranopia, protanopia and tritanopia.
  static Colormap blue_orange();
  // Near-white to dark blue, for a one-sided quantity (a loss, a density).
  static Colormap blues();

 private:
  std::vector<Color> stops_;
};

}  // namespace affine::viz
