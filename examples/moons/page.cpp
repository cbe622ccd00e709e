// index.html. The page carries, per epoch, the network's 505 weights (float32, base64) and the
// recorded metrics; its script runs the 2-100-2-1 network itself (two small matrix products per
// point) to draw the embedding and the decision boundary of any epoch. That keeps a frame for every
// epoch at about 2.7 KB, and makes the page's own point: all it takes is a matrix multiplication.
// The geometry views (every stage of a grid, the 100 unit lines, PCA of the hidden layer, each
// layer's SVD) are recomputed the same way, in closed form or by orthogonal iteration, and checked
// against the program's linalg::svd / eigh numbers carried in each frame.
#include "page.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <affine/viz/colormap.hpp>
#include <affine/viz/html.hpp>
#include <affine/viz/svg.hpp>

namespace moons {
namespace {

namespace viz = affine::viz;

// RFC 4648 base64 of the little-endian bytes of the floats (fixed byte order: same file on any
// machine).
std::string base64_floats(const std::vector<float>& values) {
  std::vector<unsigned char> bytes;
  bytes.reserve(values.size() * 4);
  for (const float v : values) {
    uint32_t u = 0;
    std::memcpy(&u, &v, 4);
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<unsigned char>(u >> (8 * k)));
  }
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i];
    const uint32_t b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0;
    const uint32_t b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t n = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::string num(double v, int decimals = 4) { return viz::fmt(v, decimals); }

std::string js_colors(const std::vector<viz::Color>& colors) {
  std::string s = "[";
  for (size_t i = 0; i < colors.size(); ++i) s += (i ? ",\"" : "\"") + colors[i].css() + "\"";
  return s + "]";
}

// The data block: settings, points, and one line per epoch.
std::string data_script(const History& h, const std::vector<EpochGeometry>& geometry) {
  std::string s;
  const GridSpec& g = h.figure_grid;
  std::vector<float> pts;
  pts.reserve(h.xs.size() * 2);
  for (size_t i = 0; i < h.xs.size(); ++i) {
    pts.push_back(static_cast<float>(h.xs[i]));
    pts.push_back(static_cast<float>(h.ys[i]));
  }
  std::string labels;
  for (const int l : h.labels) labels += l ? '1' : '0';
  s += "const DATA = {\n";
  s += "epochs: ";
  s += std::to_string(h.snapshots.size() - 1);
  s += ",\nnTrain: ";
  s += std::to_string(h.n_train);
  s += ",\n";
  s += "plane: [" + num(g.x0) + "," + num(g.x1) + "," + num(g.y0) + "," + num(g.y1) + "],\n";
  s += "figureEpochs: [";
  for (size_t k = 0; k < h.figure_epochs.size(); ++k) {
    if (k > 0) s += ',';
    s += std::to_string(h.figure_epochs[k]);
  }
  s += "],\n";
  s += "classColors: " + js_colors({viz::class_color(0), viz::class_color(1)}) + ",\n";
  s += "cmap: " + js_colors(viz::Colormap::blue_orange().stops()) + ",\n";
  s += "labels: \"" + labels + "\",\n";
  s += "points: \"" + base64_floats(pts) + "\",\n";
  // One frame per epoch: recorded loss and accuracy [train, test], and the weights.
  s += "frames: [\n";
  // g: the program's own svd/eigh results (singular values of layers 0, 2, 4; the hidden layer's
  // top two variance ratios), which the page's closed forms must reproduce.
  for (const Snapshot& f : h.snapshots) {
    const EpochGeometry& eg = geometry.at(static_cast<size_t>(f.epoch));
    std::string gs;
    for (const LinearSvd& l : eg.linears)
      for (const double v : l.singular_values) gs += num(v, 6) + ",";
    gs += num(eg.hidden_pca.ratios[0], 6) + "," + num(eg.hidden_pca.ratios[1], 6);
    s += "{e:" + std::to_string(f.epoch) + ",loss:[" + num(f.train_loss) + "," + num(f.test_loss) +
         "],acc:[" + num(f.train_accuracy) + "," + num(f.test_accuracy) + "],g:[" + gs + "],w:\"" +
         base64_floats(f.weights) + "\"},\n";
  }
  s += "]};\n";
  return s;
}

constexpr std::string_view kCss = R"CSS(
h1{font-size:1.6em;margin-bottom:0.2em}
.sub{color:#555;margin-top:0}
.anim{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.anim figure{margin:0;min-width:300px}
#fig-emb{flex:460 1 0}
#fig-bnd{flex:560 1 0}
.anim canvas{width:100%;height:auto;display:block;border:1px solid #ddd;background:#fff}
.controls{display:flex;align-items:center;gap:12px;margin:1em 0 0.4em;flex-wrap:wrap}
.controls button{font-size:1em;padding:0.3em 1.1em;min-width:6em;cursor:pointer}
.controls input[type=range]{flex:1 1 300px}
#epoch-label{font-variant-numeric:tabular-nums;min-width:8.5em;font-weight:bold}
#metrics{font-variant-numeric:tabular-nums;color:#333}
.strip{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:0.5em 0 1.2em}
@media (max-width:700px){.strip{grid-template-columns:repeat(2,1fr)}}
.strip figure{margin:0;cursor:pointer;text-align:center;font-size:0.85em;color:#444}
.strip canvas{width:100%;height:auto;border:1px solid #ddd;display:block}
.strip figure.current canvas{outline:2px solid #222}
.legend{display:flex;gap:1.4em;flex-wrap:wrap;font-size:0.92em;color:#333;margin:0.3em 0}
.legend span{display:inline-flex;align-items:center;gap:0.4em}
.sw{display:inline-block;width:11px;height:11px}
.lineSw{display:inline-block;width:24px;border-top:2px dashed #000}
.lineSw.solid{border-top-style:solid}
code{background:#f3f3f3;padding:0 0.25em;border-radius:3px}
.cbar{display:inline-block;width:140px;height:11px;border:1px solid #aaa;margin:0 0.3em}
.layers{display:grid;grid-template-columns:repeat(5,1fr);gap:8px;align-items:start}
@media (max-width:900px){.layers{grid-template-columns:repeat(2,1fr)}}
.layers figure,.inside figure{margin:0}
.layers figcaption{text-align:center;font-size:0.85em}
.layers canvas,.inside canvas{width:100%;height:auto;display:block;border:1px solid #ddd;background:#fff}
.inside{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
#fig-units{flex:460 1 0;min-width:280px}
#fig-pca{flex:300 1 0;min-width:220px}
#fig-svd{flex:560 1 0;min-width:300px}
.gl{display:inline-block;width:22px;border-top:2px solid}
)CSS";

// Runs first: any script error lands in <body data-error="...">.
constexpr std::string_view kErrorHook =
    "<script>window.onerror=function(m,s,l,c){document.body.setAttribute('data-error',"
    "String(m)+' (line '+l+')');};</script>\n";

constexpr std::string_view kScript = R"JS(
'use strict';
(function () {
const body = document.body;
function fail(msg) { body.setAttribute('data-error', msg); body.setAttribute('data-status', 'error'); }
try {
  // ---- decoding ------------------------------------------------------------------------------
  function floats(b64) {
    const bin = atob(b64);
    const view = new DataView(new ArrayBuffer(bin.length));
    for (let i = 0; i < bin.length; ++i) view.setUint8(i, bin.charCodeAt(i));
    const out = new Float32Array(bin.length / 4);
    for (let i = 0; i < out.length; ++i) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const E = DATA.epochs, N = DATA.labels.length, NT = DATA.nTrain;
  const P = floats(DATA.points);
  const L = Array.from(DATA.labels, (c) => c === '1' ? 1 : 0);
  if (DATA.frames.length !== E + 1) throw new Error('expected ' + (E + 1) + ' frames, got ' + DATA.frames.length);
  const W = DATA.frames.map((f) => floats(f.w));

  // ---- the network: 2 -> 100 (tanh) -> 2 (tanh) -> 1 (sigmoid), weights in PyTorch layout ------
  // w: 0.weight [100,2] | 0.bias [100] | 2.weight [2,100] | 2.bias [2] | 4.weight [1,2] | 4.bias [1]
  const H = 100, oB0 = 200, oW2 = 300, oB2 = 500, oW4 = 502, oB4 = 504;
  if (W.some((w) => w.length !== 505)) throw new Error('a frame does not hold 505 weights');
  // Embedding z = tanh(W2 tanh(W0 x + b0) + b2) of one point, written into out[0..1].
  function embed(w, x1, x2, out) {
    let s0 = w[oB2], s1 = w[oB2 + 1];
    for (let j = 0; j < H; ++j) {
      const h = Math.tanh(w[2 * j] * x1 + w[2 * j + 1] * x2 + w[oB0 + j]);
      s0 += w[oW2 + j] * h;
      s1 += w[oW2 + H + j] * h;
    }
    out[0] = Math.tanh(s0); out[1] = Math.tanh(s1);
  }
  function prob(w, z0, z1) { return 1 / (1 + Math.exp(-(w[oW4] * z0 + w[oW4 + 1] * z1 + w[oB4]))); }

  // ---- colours --------------------------------------------------------------------------------
  function rgb(hex) { return [1, 3, 5].map((i) => parseInt(hex.substr(i, 2), 16)); }
  const CM = DATA.cmap.map(rgb), CC = DATA.classColors;
  function cmap(t) {  // same piecewise-linear map as viz::Colormap::blue_orange
    t = Math.min(1, Math.max(0, t)) * (CM.length - 1);
    const k = Math.min(CM.length - 2, Math.floor(t)), f = t - k;
    return [0, 1, 2].map((c) => CM[k][c] + (CM[k + 1][c] - CM[k][c]) * f);
  }
  const SHADE = 0.55;  // opacity of the probability shading over white, as in the SVG figures

  // ---- per-epoch computation (cached) -----------------------------------------------------------
  const [X0, X1, Y0, Y1] = DATA.plane;
  const GX = 96, GY = Math.max(2, Math.round((GX - 1) * (Y1 - Y0) / (X1 - X0)) + 1);
  const cache = new Map();
  function state(e) {
    if (cache.has(e)) return cache.get(e);
    const w = W[e], z = new Float32Array(2 * N), p = new Float32Array(N), tmp = [0, 0];
    let right = 0;
    for (let i = 0; i < N; ++i) {
      embed(w, P[2 * i], P[2 * i + 1], tmp);
      z[2 * i] = tmp[0]; z[2 * i + 1] = tmp[1];
      p[i] = prob(w, tmp[0], tmp[1]);
      if (i >= NT && (p[i] >= 0.5 ? 1 : 0) === L[i]) ++right;
    }
    const grid = new Float32Array(GX * GY);
    for (let j = 0; j < GY; ++j)
      for (let i = 0; i < GX; ++i) {
        embed(w, X0 + (X1 - X0) * i / (GX - 1), Y0 + (Y1 - Y0) * j / (GY - 1), tmp);
        grid[j * GX + i] = prob(w, tmp[0], tmp[1]);
      }
    // The page's own forward pass must agree with the recorded test accuracy (float32 in C++,
    // float64 here: allow one point of difference near p = 0.5).
    const acc = right / (N - NT), rec = DATA.frames[e].acc[1];
    if (N > NT && Math.abs(acc - rec) > 1.5 / (N - NT))
      throw new Error('epoch ' + e + ': page computes test accuracy ' + acc + ', program recorded ' + rec);
    const st = { w, z, p, grid };
    cache.set(e, st);
    return st;
  }

  // ---- drawing ----------------------------------------------------------------------------------
  // A plot area inside a canvas: data box [x0,x1]x[y0,y1] mapped to pixels with margins for ticks.
  function setup(canvas, cssW, cssH) {
    const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    canvas.width = Math.round(cssW * dpr); canvas.height = Math.round(cssH * dpr);
    canvas.style.aspectRatio = cssW + ' / ' + cssH;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }
  function frame(ctx, W_, H_, box, m, xlab, ylab, small) {
    const f = { x0: m[3], x1: W_ - m[1], y0: m[0], y1: H_ - m[2], box };
    f.px = (x) => f.x0 + (x - box[0]) / (box[1] - box[0]) * (f.x1 - f.x0);
    f.py = (y) => f.y1 - (y - box[2]) / (box[3] - box[2]) * (f.y1 - f.y0);
    ctx.clearRect(0, 0, W_, H_);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W_, H_);
    if (!small) {
      ctx.font = '12px DejaVu Sans, Helvetica, Arial, sans-serif';
      ctx.fillStyle = '#444'; ctx.strokeStyle = '#ececec'; ctx.lineWidth = 1;
      const ticks = (lo, hi) => {  // steps of 1, 2 or 5 times a power of ten, at most ~6 ticks
        const raw = (hi - lo) / 6, p10 = Math.pow(10, Math.floor(Math.log10(raw)));
        const st = [1, 2, 5, 10].map((m) => m * p10).find((v) => v >= raw), out = [];
        for (let k = Math.ceil(lo / st); k * st <= hi + 1e-9; ++k) out.push(Math.round(k * st * 1e6) / 1e6);
        return out; };
      ctx.textAlign = 'center'; ctx.textBaseline = 'top';
      for (const v of ticks(box[0], box[1])) { const x = f.px(v);
        ctx.beginPath(); ctx.moveTo(x, f.y0); ctx.lineTo(x, f.y1); ctx.stroke(); ctx.fillText(String(v), x, f.y1 + 5); }
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      for (const v of ticks(box[2], box[3])) { const y = f.py(v);
        ctx.beginPath(); ctx.moveTo(f.x0, y); ctx.lineTo(f.x1, y); ctx.stroke(); ctx.fillText(String(v), f.x0 - 5, y); }
      ctx.font = '13px DejaVu Sans, Helvetica, Arial, sans-serif'; ctx.fillStyle = '#222';
      ctx.textAlign = 'center'; ctx.textBaseline = 'bottom';
      ctx.fillText(xlab, (f.x0 + f.x1) / 2, H_ - 2);
      ctx.save(); ctx.translate(13, (f.y0 + f.y1) / 2); ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = 'middle'; ctx.fillText(ylab, 0, 0); ctx.restore();
    }
    return f;
  }
  function shade(ctx, f, values, gx, gy) {  // values[j*gx+i], j = 0 at the bottom
    const img = document.createElement('canvas'); img.width = gx; img.height = gy;
    const ic = img.getContext('2d'), data = ic.createImageData(gx, gy);
    for (let j = 0; j < gy; ++j) for (let i = 0; i < gx; ++i) {
      const c = cmap(values[j * gx + i]), o = 4 * ((gy - 1 - j) * gx + i);
      for (let k = 0; k < 3; ++k) data.data[o + k] = Math.round(255 + (c[k] - 255) * SHADE);
      data.data[o + 3] = 255;
    }
    ic.putImageData(data, 0, 0);
    ctx.save(); ctx.imageSmoothingEnabled = true;
    // Node centres sit on the box corners: stretch by half a cell on each side, then clip.
    ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
    const cw = (f.x1 - f.x0) / (gx - 1), ch = (f.y1 - f.y0) / (gy - 1);
    ctx.drawImage(img, f.x0 - cw / 2, f.y0 - ch / 2, f.x1 - f.x0 + cw, f.y1 - f.y0 + ch);
    ctx.restore();
  }
  // alpha < 0.5 draws unoutlined, so piles of points darken with their number (a density cue).
  function points(ctx, f, xy, from, to, r, alpha = 0.85) {
    ctx.save(); ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
    ctx.lineWidth = alpha < 0.5 ? 0 : Math.max(0.5, r / 3); ctx.strokeStyle = '#fff';
    for (let cls = 0; cls < 2; ++cls) {
      ctx.fillStyle = CC[cls]; ctx.globalAlpha = alpha;
      for (let i = from; i < to; ++i) {
        if (L[i] !== cls) continue;
        const x = f.px(xy[2 * i]), y = f.py(xy[2 * i + 1]);
        ctx.beginPath();
        if (cls === 0) ctx.arc(x, y, r, 0, 2 * Math.PI); else ctx.rect(x - 0.87 * r, y - 0.87 * r, 1.75 * r, 1.75 * r);
        ctx.fill(); if (alpha >= 0.5) ctx.stroke();
      }
    }
    ctx.restore();
  }
  function border(ctx, f) { ctx.strokeStyle = '#9a9a9a'; ctx.lineWidth = 1; ctx.strokeRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); }
  // The p = 0.5 curve of a grid by marching squares (segments; saddles split by the centre value).
  function contour(ctx, f, g, gx, gy, box, level) {
    const X = (i) => f.px(box[0] + (box[1] - box[0]) * i / (gx - 1));
    const Y = (j) => f.py(box[2] + (box[3] - box[2]) * j / (gy - 1));
    const lerp = (a, b) => (level - a) / (b - a);
    ctx.beginPath();
    for (let j = 0; j + 1 < gy; ++j) for (let i = 0; i + 1 < gx; ++i) {
      const a = g[j * gx + i], b = g[j * gx + i + 1], c = g[(j + 1) * gx + i + 1], d = g[(j + 1) * gx + i];
      const pts = [];
      if ((a >= level) !== (b >= level)) pts.push([X(i + lerp(a, b)), Y(j)]);
      if ((b >= level) !== (c >= level)) pts.push([X(i + 1), Y(j + lerp(b, c))]);
      if ((c >= level) !== (d >= level)) pts.push([X(i + 1 - lerp(c, d)), Y(j + 1)]);
      if ((d >= level) !== (a >= level)) pts.push([X(i), Y(j + 1 - lerp(d, a))]);
      if (pts.length === 2) { ctx.moveTo(pts[0][0], pts[0][1]); ctx.lineTo(pts[1][0], pts[1][1]); }
      else if (pts.length === 4) {
        const centre = (a + b + c + d) / 4 >= level, aUp = a >= level;
        const pair = centre === aUp ? [[0, 1], [2, 3]] : [[0, 3], [1, 2]];
        for (const [u, v] of pair) { ctx.moveTo(pts[u][0], pts[u][1]); ctx.lineTo(pts[v][0], pts[v][1]); }
      }
    }
    ctx.stroke();
  }
  const ZB = [-1.1, 1.1, -1.1, 1.1];
  function drawEmbedding(canvas, e, small) {
    const s = state(e), w = s.w, size = small ? 250 : 460;
    const ctx = setup(canvas, size, size);
    const f = frame(ctx, size, size, ZB, small ? [2, 2, 2, 2] : [12, 12, 44, 52], 'z1 (embedding)', 'z2 (embedding)', small);
    // In the embedding plane p = sigmoid(w . z + b) is a ramp: its level sets are parallel lines.
    const g = 48, vals = new Float32Array(g * g);
    for (let j = 0; j < g; ++j) for (let i = 0; i < g; ++i)
      vals[j * g + i] = prob(w, ZB[0] + (ZB[1] - ZB[0]) * i / (g - 1), ZB[2] + (ZB[3] - ZB[2]) * j / (g - 1));
    shade(ctx, f, vals, g, g);
    points(ctx, f, s.z, 0, N, small ? 1.6 : 2.6, 0.2);
    // The output layer's line w . z + b = 0, clipped to the box.
    const a = w[oW4], b = w[oW4 + 1], c = w[oB4], segs = [];
    if (Math.abs(b) > 1e-12) segs.push([ZB[0], -(a * ZB[0] + c) / b], [ZB[1], -(a * ZB[1] + c) / b]);
    else if (Math.abs(a) > 1e-12) segs.push([-c / a, ZB[2]], [-c / a, ZB[3]]);
    if (segs.length) {
      ctx.save(); ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
      ctx.setLineDash(small ? [4, 2] : [8, 4]); ctx.lineWidth = small ? 1.3 : 2.2; ctx.strokeStyle = '#000';
      ctx.beginPath(); ctx.moveTo(f.px(segs[0][0]), f.py(segs[0][1])); ctx.lineTo(f.px(segs[1][0]), f.py(segs[1][1])); ctx.stroke();
      ctx.restore();
    }
    border(ctx, f);
  }
  function drawBoundary(canvas, e, small) {
    const s = state(e), wpx = small ? 250 : 560;
    const box = DATA.plane, plotW = wpx - (small ? 4 : 64);
    const plotH = plotW * (box[3] - box[2]) / (box[1] - box[0]);
    const hpx = Math.round(plotH + (small ? 4 : 56));
    const ctx = setup(canvas, wpx, hpx);
    const f = frame(ctx, wpx, hpx, box, small ? [2, 2, 2, 2] : [12, 12, 44, 52], 'x1 (input)', 'x2 (input)', small);
    shade(ctx, f, s.grid, GX, GY);
    points(ctx, f, P, 0, N, small ? 1.4 : 2.3);
    ctx.save(); ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
    ctx.lineWidth = small ? 1.3 : 2.4; ctx.strokeStyle = '#000'; ctx.lineJoin = 'round'; ctx.lineCap = 'round';
    contour(ctx, f, s.grid, GX, GY, box, 0.5);
    ctx.restore();
    border(ctx, f);
  }

  // ---- geometry: each layer recomputed from the epoch's weights ---------------------------------
  // Symmetric 2x2 [[a, b], [b, c]]: eigenvalues descending and the unit eigenvector of the first.
  function eig2(a, b, c) {
    const m = (a + c) / 2, r = Math.hypot((a - c) / 2, b), l1 = m + r, l2 = m - r;
    let v = Math.abs(b) > 1e-300 ? [l1 - c, b] : (a >= c ? [1, 0] : [0, 1]);
    const n = Math.hypot(v[0], v[1]); v = [v[0] / n, v[1] / n];
    return { l: [l1, l2], v };
  }
  // The sign convention of geometry.cpp: first vector in the right half-plane, the 2x2 a rotation.
  function canon(v) { return v[0] < 0 || (v[0] === 0 && v[1] < 0) ? [-v[0], -v[1]] : v; }
  // The SVD of each Linear in closed form (W^T W or W W^T is 2x2): singular values descending
  // and the angle of the 2-D factor's first singular vector, in degrees.
  function svds(w) {
    let a = 0, b = 0, c = 0, p = 0, q = 0, r = 0;
    for (let j = 0; j < H; ++j) {
      const x = w[2 * j], y = w[2 * j + 1], u = w[oW2 + j], t = w[oW2 + H + j];
      a += x * x; b += x * y; c += y * y; p += u * u; q += u * t; r += t * t;
    }
    const e0 = eig2(a, b, c), e2 = eig2(p, q, r), v4 = canon([w[oW4], w[oW4 + 1]]);
    const v0 = canon(e0.v), u2 = canon(e2.v), deg = (v) => Math.atan2(v[1], v[0]) * 180 / Math.PI;
    const sq = (l) => Math.sqrt(Math.max(0, l));
    return { s0: e0.l.map(sq), s2: e2.l.map(sq), s4: [Math.hypot(w[oW4], w[oW4 + 1])],
             a0: deg(v0), a2: deg(u2), a4: deg(v4), u2, s2v: e2.l.map(sq) };
  }
  // Top two principal directions of a d x d covariance given as a product v -> C v (orthogonal
  // iteration, then Rayleigh-Ritz), each pointed so that its largest component is positive.
  function topTwo(mv, d, trace, start) {
    let V = start ? start.map((v) => Float64Array.from(v)) : [0, 1].map((k) => { const v = new Float64Array(d); for (let i = 0; i < d; ++i) v[i] = Math.sin(1 + i * (k + 1.618)); return v; });
    const dot = (x, y) => { let s = 0; for (let i = 0; i < d; ++i) s += x[i] * y[i]; return s; };
    const orth = (A) => { const n0 = Math.sqrt(dot(A[0], A[0])); for (let i = 0; i < d; ++i) A[0][i] /= n0;
      const p = dot(A[0], A[1]); for (let i = 0; i < d; ++i) A[1][i] -= p * A[0][i];
      const n1 = Math.sqrt(dot(A[1], A[1])); for (let i = 0; i < d; ++i) A[1][i] /= n1 || 1; return A; };
    V = orth(V);
    for (let it = 0; it < 150; ++it) V = orth(V.map(mv));
    const CV = V.map(mv), e = eig2(dot(V[0], CV[0]), dot(V[0], CV[1]), dot(V[1], CV[1]));
    const c = e.v, out = [new Float64Array(d), new Float64Array(d)];
    for (let i = 0; i < d; ++i) { out[0][i] = c[0] * V[0][i] + c[1] * V[1][i]; out[1][i] = -c[1] * V[0][i] + c[0] * V[1][i]; }
    for (const v of out) { let big = 0; for (let i = 1; i < d; ++i) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
      if (v[big] < 0) for (let i = 0; i < d; ++i) v[i] = -v[i]; }
    return { v: out, ratio: [Math.max(0, e.l[0]) / trace, Math.max(0, e.l[1]) / trace] };
  }
  // A grid of the input plane (lines every 0.5, 33 samples each), as fig. 3 and layers.svg draw.
  const GRID = [];
  for (let x = Math.ceil(X0 / 0.5) * 0.5; x <= X1 + 1e-9; x += 0.5) GRID.push({ x1: true, p: Array.from({ length: 33 }, (_, k) => [x, Y0 + (Y1 - Y0) * k / 32]) });
  for (let y = Math.ceil(Y0 / 0.5) * 0.5; y <= Y1 + 1e-9; y += 0.5) GRID.push({ x1: false, p: Array.from({ length: 33 }, (_, k) => [X0 + (X1 - X0) * k / 32, y]) });
  const GP = GRID.flatMap((l) => l.p);  // every grid sample, line after line
  const gcache = new Map();
  let lastPcs = null;
  function geometry(e) {
    if (gcache.has(e)) return gcache.get(e);
    const w = W[e], sv = svds(w);
    // Hidden activations of the training points: covariance (float64), then its top two PCs.
    const hid = new Float64Array(NT * H), mean = new Float64Array(H);
    for (let i = 0; i < NT; ++i) for (let j = 0; j < H; ++j) {
      const v = Math.tanh(w[2 * j] * P[2 * i] + w[2 * j + 1] * P[2 * i + 1] + w[oB0 + j]);
      hid[i * H + j] = v; mean[j] += v / NT;
    }
    const C = new Float64Array(H * H);
    for (let i = 0; i < NT; ++i) { const row = hid.subarray(i * H, i * H + H);
      for (let a = 0; a < H; ++a) { const da = row[a] - mean[a]; if (da === 0) continue;
        for (let b = a; b < H; ++b) C[a * H + b] += da * (row[b] - mean[b]); } }
    let trace = 0;
    for (let a = 0; a < H; ++a) { trace += C[a * H + a]; for (let b = a; b < H; ++b) { C[a * H + b] /= NT - 1; C[b * H + a] = C[a * H + b]; } }
    trace /= NT - 1;
    if (!(trace > 0)) throw new Error('epoch ' + e + ': the hidden activations have zero variance');
    const mvC = (v) => { const o = new Float64Array(H); for (let a = 0; a < H; ++a) { let s = 0; for (let b = 0; b < H; ++b) s += C[a * H + b] * v[b]; o[a] = s; } return o; };
    const pcs = topTwo(mvC, H, trace, lastPcs && lastPcs.e === e - 1 ? lastPcs.v : null);
    lastPcs = { e, v: pcs.v };
    // W0 x + b0 is the plane x mapped affinely into 100-D: its covariance W0 Sx W0^T has rank 2.
    let mx = 0, my = 0; for (let i = 0; i < NT; ++i) { mx += P[2 * i] / NT; my += P[2 * i + 1] / NT; }
    let sxx = 0, sxy = 0, syy = 0;
    for (let i = 0; i < NT; ++i) { const dx = P[2 * i] - mx, dy = P[2 * i + 1] - my; sxx += dx * dx; sxy += dx * dy; syy += dy * dy; }
    sxx /= NT - 1; sxy /= NT - 1; syy /= NT - 1;
    const mvPre = (v) => { let a = 0, b = 0; for (let j = 0; j < H; ++j) { a += w[2 * j] * v[j]; b += w[2 * j + 1] * v[j]; }
      const c0 = sxx * a + sxy * b, c1 = sxy * a + syy * b, o = new Float64Array(H);
      for (let j = 0; j < H; ++j) o[j] = w[2 * j] * c0 + w[2 * j + 1] * c1; return o; };
    let preTrace = 0; for (let j = 0; j < H; ++j) { const x = w[2 * j], y = w[2 * j + 1]; preTrace += x * x * sxx + 2 * x * y * sxy + y * y * syy; }
    const prePcs = topTwo(mvPre, H, preTrace, null);
    const preMean = new Float64Array(H); for (let j = 0; j < H; ++j) preMean[j] = w[2 * j] * mx + w[2 * j + 1] * my + w[oB0 + j];
    // Every stage of the test points and the grid, as 2-D coordinates.
    const pts = [], M = N - NT + GP.length;
    for (let i = NT; i < N; ++i) pts.push([P[2 * i], P[2 * i + 1]]);
    for (const q of GP) pts.push(q);
    const st = [0, 1, 2, 3, 4].map(() => new Float64Array(2 * M)), pre = new Float64Array(H), h = new Float64Array(H);
    for (let k = 0; k < M; ++k) {
      const [x1, x2] = pts[k];
      for (let j = 0; j < H; ++j) { pre[j] = w[2 * j] * x1 + w[2 * j + 1] * x2 + w[oB0 + j]; h[j] = Math.tanh(pre[j]); }
      let a = 0, b = 0, c = 0, d = 0, s0 = w[oB2], s1 = w[oB2 + 1];
      for (let j = 0; j < H; ++j) {
        a += (pre[j] - preMean[j]) * prePcs.v[0][j]; b += (pre[j] - preMean[j]) * prePcs.v[1][j];
        c += (h[j] - mean[j]) * pcs.v[0][j]; d += (h[j] - mean[j]) * pcs.v[1][j];
        s0 += w[oW2 + j] * h[j]; s1 += w[oW2 + H + j] * h[j];
      }
      const vals = [x1, x2, a, b, c, d, s0, s1, Math.tanh(s0), Math.tanh(s1)];
      for (let s = 0; s < 5; ++s) { st[s][2 * k] = vals[2 * s]; st[s][2 * k + 1] = vals[2 * s + 1]; }
    }
    // Principal angles between W2's row space (rows of W2, orthonormalised) and PCs 1-2.
    const r0 = new Float64Array(H), r1 = new Float64Array(H);
    for (let j = 0; j < H; ++j) { r0[j] = w[oW2 + j]; r1[j] = w[oW2 + H + j]; }
    const dotH = (x, y) => { let s = 0; for (let j = 0; j < H; ++j) s += x[j] * y[j]; return s; };
    const n0 = Math.sqrt(dotH(r0, r0)); for (let j = 0; j < H; ++j) r0[j] /= n0;
    const pr = dotH(r0, r1); for (let j = 0; j < H; ++j) r1[j] -= pr * r0[j];
    const n1 = Math.sqrt(dotH(r1, r1)); for (let j = 0; j < H; ++j) r1[j] /= n1;
    const m00 = dotH(r0, pcs.v[0]), m01 = dotH(r0, pcs.v[1]), m10 = dotH(r1, pcs.v[0]), m11 = dotH(r1, pcs.v[1]);
    const mm = eig2(m00 * m00 + m10 * m10, m00 * m01 + m10 * m11, m01 * m01 + m11 * m11);
    const angles = mm.l.map((l) => Math.acos(Math.min(1, Math.sqrt(Math.max(0, l)))) * 180 / Math.PI);
    // The program's own linalg::svd / eigh numbers for this epoch: the page must agree.
    const rec = DATA.frames[e].g, mine = [sv.s0[0], sv.s0[1], sv.s2[0], sv.s2[1], sv.s4[0], pcs.ratio[0], pcs.ratio[1]];
    for (let k = 0; k < 7; ++k)
      if (Math.abs(mine[k] - rec[k]) > 2e-3 * Math.max(1, Math.abs(rec[k])))
        throw new Error('epoch ' + e + ': page computes ' + ['s0[0]', 's0[1]', 's2[0]', 's2[1]', 's4', 'PC1 ratio', 'PC2 ratio'][k] + ' = ' + mine[k] + ', program recorded ' + rec[k]);
    const g = { sv, st, pre: prePcs.ratio, hid: pcs.ratio, angles, nTest: N - NT };
    gcache.set(e, g);
    return g;
  }
  // Square data box around 2-D coordinates (equal aspect), padded 6%.
  function squareBox(xy) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let k = 0; k < xy.length; k += 2) { x0 = Math.min(x0, xy[k]); x1 = Math.max(x1, xy[k]); y0 = Math.min(y0, xy[k + 1]); y1 = Math.max(y1, xy[k + 1]); }
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, r = Math.max(x1 - x0, y1 - y0, 1e-6) * 0.53;
    return [cx - r, cx + r, cy - r, cy + r];
  }
  function gridLines(ctx, f, xy, from) {
    ctx.save(); ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
    ctx.lineWidth = 0.9; ctx.globalAlpha = 0.8;
    let k = from;
    for (const l of GRID) {
      ctx.strokeStyle = l.x1 ? '#56b4e9' : '#cc79a7'; ctx.beginPath();
      for (let i = 0; i < l.p.length; ++i, ++k) { const x = f.px(xy[2 * k]), y = f.py(xy[2 * k + 1]); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); }
      ctx.stroke();
    }
    ctx.restore();
  }
  const STAGES = [['input x', 'x1', 'x2'], ['W0 x + b0 (PCs)', 'PC1', 'PC2'], ['tanh (PCs)', 'PC1', 'PC2'], ['W2 h + b2', '(W2 h + b2)1', '(W2 h + b2)2'], ['tanh: embedding z', 'z1', 'z2']];
  function drawLayers(e) {
    const g = geometry(e), w = W[e];
    for (let s = 0; s < 5; ++s) {
      const canvas = document.getElementById('layer' + s), xy = g.st[s];
      const box = s === 0 ? [X0, X1, Y0, Y1] : s === 4 ? ZB : squareBox(xy);
      const ctx = setup(canvas, 230, s === 0 ? Math.round(186 * (Y1 - Y0) / (X1 - X0) + 44) : 230);
      const f = frame(ctx, 230, s === 0 ? Math.round(186 * (Y1 - Y0) / (X1 - X0) + 44) : 230, box, [8, 8, 36, 36], STAGES[s][1], STAGES[s][2], false);
      gridLines(ctx, f, xy, g.nTest);
      const shifted = new Float64Array(2 * N); shifted.set(xy.subarray(0, 2 * g.nTest), 2 * NT);
      points(ctx, f, shifted, NT, N, 1.8, 0.8);
      if (s === 4) {
        const a = w[oW4], b = w[oW4 + 1], c = w[oB4];
        ctx.save(); ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
        ctx.setLineDash([6, 3]); ctx.lineWidth = 1.6; ctx.strokeStyle = '#000'; ctx.beginPath();
        if (Math.abs(b) > 1e-12) { ctx.moveTo(f.px(ZB[0]), f.py(-(a * ZB[0] + c) / b)); ctx.lineTo(f.px(ZB[1]), f.py(-(a * ZB[1] + c) / b)); }
        ctx.stroke(); ctx.restore();
      }
      border(ctx, f);
      const cap = document.getElementById('layer' + s + '-cap');
      cap.textContent = STAGES[s][0] + (s === 1 ? ': keep ' + (100 * (g.pre[0] + g.pre[1])).toFixed(1) + '%' : s === 2 ? ': keep ' + (100 * (g.hid[0] + g.hid[1])).toFixed(1) + '%' : '');
    }
  }
  function drawHidden(e) {
    const g = geometry(e), w = W[e], box = DATA.plane;
    const canvas = document.getElementById('units'), wpx = 460, hpx = Math.round((wpx - 52) * (box[3] - box[2]) / (box[1] - box[0]) + 52);
    const ctx = setup(canvas, wpx, hpx), f = frame(ctx, wpx, hpx, box, [8, 8, 44, 44], 'x1', 'x2', false);
    points(ctx, f, P, NT, N, 1.8, 0.3);
    let pushMax = 0, reachMax = 0; const push = [], reach = [];
    for (let j = 0; j < H; ++j) { const a = w[oW2 + j], b = w[oW2 + H + j];
      push.push(w[oW4] * a + w[oW4 + 1] * b); reach.push(Math.hypot(a, b));
      pushMax = Math.max(pushMax, Math.abs(push[j])); reachMax = Math.max(reachMax, reach[j]); }
    ctx.save(); ctx.beginPath(); ctx.rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0); ctx.clip();
    for (let j = 0; j < H; ++j) {
      const a = w[2 * j], b = w[2 * j + 1], c = w[oB0 + j], col = cmap(pushMax > 0 ? 0.5 + 0.5 * push[j] / pushMax : 0.5);
      ctx.strokeStyle = 'rgb(' + col.map(Math.round).join(',') + ')'; ctx.globalAlpha = reachMax > 0 ? 0.2 + 0.8 * reach[j] / reachMax : 1; ctx.lineWidth = 1.2;
      ctx.beginPath();
      if (Math.abs(b) > Math.abs(a)) { ctx.moveTo(f.px(box[0]), f.py(-(a * box[0] + c) / b)); ctx.lineTo(f.px(box[1]), f.py(-(a * box[1] + c) / b)); }
      else if (Math.abs(a) > 1e-12) { ctx.moveTo(f.px(-(b * box[2] + c) / a), f.py(box[2])); ctx.lineTo(f.px(-(b * box[3] + c) / a), f.py(box[3])); }
      ctx.stroke();
    }
    ctx.restore(); border(ctx, f);
    // PCA of the hidden layer (test points).
    const pc = document.getElementById('pca'), xy = g.st[2], pbox = squareBox(xy.subarray(0, 2 * g.nTest));
    const pctx = setup(pc, 300, 300), pf = frame(pctx, 300, 300, pbox, [8, 8, 40, 44], 'PC1 of h', 'PC2 of h', false);
    const shifted = new Float64Array(2 * N); shifted.set(xy.subarray(0, 2 * g.nTest), 2 * NT);
    points(pctx, pf, shifted, NT, N, 2, 0.8); border(pctx, pf);
    document.getElementById('pca-cap').textContent = 'PCs 1-2 keep ' + (100 * (g.hid[0] + g.hid[1])).toFixed(1) +
      '% of the variance of h; principal angles to W2\u2019s row space: ' + g.angles.map((a) => a.toFixed(1) + '\u00b0').join(', ');
  }
  // Singular values over every epoch, drawn once per epoch change with a marker at e.
  let SV = null;
  function drawSvd(e) {
    if (!SV) SV = W.map(svds);
    const canvas = document.getElementById('svdc'), wpx = 560, hpx = 300;
    let top = 0; for (const s of SV) top = Math.max(top, s.s0[0], s.s2[0], s.s4[0]);
    const ctx = setup(canvas, wpx, hpx), f = frame(ctx, wpx, hpx, [0, Math.max(1, E), 0, top * 1.08], [8, 8, 40, 48], 'epoch', 'singular value', false);
    const series = [['#d55e00', (s) => s.s0[0], []], ['#009e73', (s) => s.s0[1], []], ['#d55e00', (s) => s.s2[0], [6, 3]], ['#009e73', (s) => s.s2[1], [6, 3]], ['#000000', (s) => s.s4[0], [2, 2]]];
    for (const [col, get, dash] of series) {
      ctx.strokeStyle = col; ctx.lineWidth = 1.7; ctx.setLineDash(dash); ctx.beginPath();
      SV.forEach((s, k) => { const x = f.px(k), y = f.py(get(s)); if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
      ctx.stroke();
    }
    ctx.setLineDash([]); ctx.strokeStyle = '#222'; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(f.px(e), f.y0); ctx.lineTo(f.px(e), f.y1); ctx.stroke();
    border(ctx, f);
    const s = SV[e], d = (v) => v.toFixed(2);
    document.getElementById('svd-cap').textContent = 'epoch ' + e + ': layer 0 s = ' + d(s.s0[0]) + ', ' + d(s.s0[1]) + ' (v1 at ' + s.a0.toFixed(1) +
      '\u00b0) \u00b7 layer 2 s = ' + d(s.s2[0]) + ', ' + d(s.s2[1]) + ' (u1 at ' + s.a2.toFixed(1) + '\u00b0) \u00b7 layer 4 s = ' + d(s.s4[0]) + ' (v1 at ' + s.a4.toFixed(1) + '\u00b0)';
  }

  // ---- the player ---------------------------------------------------------------------------------
  const slider = document.getElementById('epoch'), button = document.getElementById('play');
  const label = document.getElementById('epoch-label'), metrics = document.getElementById('metrics');
  const embCanvas = document.getElementById('emb'), bndCanvas = document.getElementById('bnd');
  slider.max = String(E);
  const fmt = (v) => v.toFixed(4);
  let current = -1;
  function show(e) {
    e = Math.max(0, Math.min(E, e | 0));
    drawEmbedding(embCanvas, e, false);
    drawBoundary(bndCanvas, e, false);
    drawLayers(e);
    drawHidden(e);
    drawSvd(e);
    body.setAttribute('data-geometry-epoch', String(e));  // the layer views reached epoch e
    const fr = DATA.frames[e];
    label.textContent = 'epoch ' + e + ' / ' + E;
    metrics.textContent = 'loss ' + fmt(fr.loss[0]) + ' train, ' + fmt(fr.loss[1]) + ' test \u00b7 accuracy ' +
      fmt(fr.acc[0]) + ' train, ' + fmt(fr.acc[1]) + ' test';
    slider.value = String(e);
    current = e;
    for (const fig of document.querySelectorAll('.strip figure'))
      fig.classList.toggle('current', Number(fig.dataset.epoch) === e);
    body.setAttribute('data-epoch', String(e));
  }
  let timer = null;
  const STEP_MS = 70;
  function stop() { if (timer !== null) { clearTimeout(timer); timer = null; } button.textContent = '\u25b6 Play'; }
  function tick() {
    try {
      if (current >= E) { stop(); body.setAttribute('data-status', 'ok'); return; }
      show(current + 1);
      timer = setTimeout(tick, STEP_MS);
    } catch (err) { stop(); fail(String(err && err.message || err)); }
  }
  function play() { if (current >= E) show(0); button.textContent = '\u275a\u275a Pause'; timer = setTimeout(tick, STEP_MS); }
  button.addEventListener('click', () => { if (timer === null) play(); else stop(); });
  slider.addEventListener('input', () => { stop(); show(Number(slider.value)); });

  // Small multiples at the figure epochs (the static figures, drawn by the same code); click to jump.
  for (const [id, draw] of [['strip-emb', drawEmbedding], ['strip-bnd', drawBoundary]]) {
    const host = document.getElementById(id);
    for (const e of DATA.figureEpochs) {
      const fig = document.createElement('figure'); fig.dataset.epoch = String(e);
      const c = document.createElement('canvas'); fig.appendChild(c);
      const cap = document.createElement('figcaption'); cap.textContent = 'epoch ' + e + ' \u00b7 test accuracy ' + DATA.frames[e].acc[1].toFixed(3); fig.appendChild(cap);
      fig.addEventListener('click', () => { stop(); show(e); });
      host.appendChild(fig);
      draw(c, e, true);
    }
  }
  show(0);
  body.setAttribute('data-status', 'playing');
  play();  // autoplay once from epoch 0 to the last epoch, then stop there
} catch (err) { fail(String(err && err.message || err)); }
})();
)JS";

std::string legend_html() {
  std::string s = "<div class=\"legend\">";
  s += "<span><span class=\"sw\" style=\"background:" + viz::class_color(0).css() +
       ";border-radius:50%\"></span>class 0 (upper moon)</span>";
  s += "<span><span class=\"sw\" style=\"background:" + viz::class_color(1).css() +
       "\"></span>class 1 (lower moon)</span>";
  s += "<span><span class=\"lineSw\"></span>w&middot;z + b = 0 (embedding)</span>";
  s += "<span><span class=\"lineSw solid\"></span>p = 0.5 (input plane)</span>";
  // The colour bar for p, painted with the same stops (at the canvases' shading opacity).
  std::string stops;
  const auto cmap = viz::Colormap::blue_orange();
  for (int k = 0; k <= 10; ++k) {
    // (Appended piecewise: a chain of operator+ trips a false -Wrestrict in GCC 12 at -O2.)
    if (k) stops += ',';
    stops += viz::mix(viz::Color::hex(0xffffff), cmap(k / 10.0), 0.55).css();
  }
  s += "<span>p(class 1): 0<span class=\"cbar\" style=\"background:linear-gradient(to right," +
       stops + ")\"></span>1</span>";
  s += "</div>\n";
  return s;
}

}  // namespace

std::string build_page(const History& h, const Options& o, const StaticFigures& f,
                       const std::vector<EpochGeometry>& geometry) {
  const int epochs = static_cast<int>(h.snapshots.size()) - 1;
  const Snapshot& last = h.snapshots.back();
  std::string settings = "--samples " + std::to_string(o.samples) + " --noise " + num(o.noise) +
                         " --epochs " + std::to_string(epochs) + " --optimizer " + o.optimizer +
                         " --lr " + num(o.lr, 6);
  if (o.optimizer == "sgd") settings += " --momentum " + num(o.momentum);
  settings += " --batch " + std::to_string(o.batch) + " --seed " + std::to_string(o.seed);

  std::string b;
  b += kErrorHook;
  b += "<h1>Two moons through a 2-100-2-1 network</h1>\n";
  b += "<p class=\"sub\">Made by affine's <code>examples/moons</code> with <code>moons " +
       viz::xml_escape(settings) + "</code>: test accuracy " + viz::fixed(last.test_accuracy, 4) +
       " after " + std::to_string(epochs) + " epochs.</p>\n";
  b +=
      "<p>A fully connected layer computes <i>f</i>(<i>W x</i> + <i>b</i>). The product <i>W x</i> "
      "is a linear map: it rotates, reflects, shears and scales the plane, and can lift it into "
      "more dimensions (the first layer's 100&times;2 matrix takes each point into 100-D). Adding "
      "<i>b</i> translates: the map becomes affine. The non-linearity squashes. This network "
      "squashes twice with tanh, down to a 2-D <b>embedding</b> <i>z</i>, and its last layer is "
      "one straight line in that plane: p = sigmoid(<i>w</i>&middot;<i>z</i> + <i>b</i>). "
      "Training bends the input plane until that line separates the two moons.</p>\n";
  b += "<h2>Training, epoch by epoch</h2>\n";
  b += "<div class=\"controls\"><button id=\"play\" type=\"button\">&#9654; Play</button>"
       "<input id=\"epoch\" type=\"range\" min=\"0\" max=\"" +
       std::to_string(epochs) +
       "\" value=\"0\" step=\"1\" aria-label=\"epoch\"><span id=\"epoch-label\">epoch 0 / " +
       std::to_string(epochs) + "</span></div>\n";
  b += "<div id=\"metrics\">&nbsp;</div>\n";
  b += legend_html();
  b += "<div class=\"anim\">\n<figure id=\"fig-emb\"><canvas "
       "id=\"emb\"></canvas><figcaption><b>The embedding "
       "plane.</b> Where the 2-D tanh layer puts every point. The output layer can only draw a "
       "straight line here (dashed); training moves the points, not just the line, until the "
       "classes fall on either side of it.</figcaption></figure>\n";
  b += "<figure id=\"fig-bnd\"><canvas id=\"bnd\"></canvas><figcaption><b>The input plane.</b> The "
       "same "
       "classifier seen from the data: pulled back through the two tanh layers, the straight "
       "line becomes the curve p = 0.5 between the moons.</figcaption></figure>\n</div>\n";
  b += "<p>The page recomputes every frame itself from that epoch's 505 weights: for each point, "
       "two small matrix products and three squashings, as in the program.</p>\n";
  b += "<h2>Inside the network, layer by layer</h2>\n";
  b += "<p>The same epoch, stage by stage: a grid of the input plane (<span class=\"gl\" "
       "style=\"border-color:#56b4e9\"></span> lines of constant x1, <span class=\"gl\" "
       "style=\"border-color:#cc79a7\"></span> of constant x2) and the test points carried "
       "through <i>W</i><sub>0</sub><i>x</i> + <i>b</i><sub>0</sub>, tanh, "
       "<i>W</i><sub>2</sub><i>h</i> "
       "+ <i>b</i><sub>2</sub> and tanh to the embedding and the output line. The two 100-D stages "
       "are seen along their own top two principal directions (training set), labelled with the "
       "share of variance those keep: the affine stage is a flat plane in 100-D (100%), the squash "
       "bends it out of any plane.</p>\n<div class=\"layers\">";
  for (int k = 0; k < 5; ++k)
    b += "<figure><canvas id=\"layer" + std::to_string(k) + "\"></canvas><figcaption id=\"layer" +
         std::to_string(k) + "-cap\"></figcaption></figure>";
  b +=
      "</div>\n<div class=\"inside\">\n<figure id=\"fig-units\"><canvas id=\"units\"></canvas>"
      "<figcaption><b>The 100 hidden units.</b> Row <i>w<sub>i</sub></i> of <i>W</i><sub>0</sub> "
      "is a template: unit <i>i</i> is 0 on the line <i>w<sub>i</sub></i>&middot;<i>x</i> + "
      "<i>b<sub>i</sub></i> = 0 and saturates away from it. Colour: the unit's push toward class 1 "
      "through the next layers (<i>w</i><sub>4</sub>&middot;<i>W</i><sub>2</sub>[:, <i>i</i>], "
      "orange for class 1, blue for class 0); faint lines carry little "
      "weight.</figcaption></figure>\n";
  b += "<figure id=\"fig-pca\"><canvas id=\"pca\"></canvas><figcaption><b>PCA of the hidden "
       "layer.</b> <span id=\"pca-cap\"></span>. Compare with <i>W</i><sub>2</sub><i>h</i> + "
       "<i>b</i><sub>2</sub> above: the network keeps the direction that separates the classes, "
       "not the one of most variance.</figcaption></figure>\n";
  b += "<figure id=\"fig-svd\"><canvas id=\"svdc\"></canvas><figcaption><b><i>W</i> = "
       "<i>U</i> diag(<i>s</i>) <i>V</i><sup>T</sup> for each layer over training.</b> Solid: "
       "layer 0 (100&times;2), dashed: layer 2 (2&times;100), dotted: layer 4 (1&times;2); "
       "vermillion <i>s</i><sub>1</sub>, green <i>s</i><sub>2</sub>. <span "
       "id=\"svd-cap\"></span></figcaption></figure>\n</div>\n";
  b +=
      "<p>These panels too are recomputed in the page from the epoch's weights (the SVDs in closed "
      "form, since <i>W</i><sup>T</sup><i>W</i> or <i>W W</i><sup>T</sup> is 2&times;2; the PCA by "
      "orthogonal iteration), and the page checks its numbers against the program's "
      "<code>linalg::svd</code> and <code>eigh</code> (<code>geometry.json</code>, "
      "<code>layers.svg</code>, <code>svd.svg</code>, <code>hidden.svg</code>).</p>\n";
  b += "<h2>Small multiples</h2>\n";
  b += "<p>The embedding (the post's fig. 6a) at selected epochs: from a scrambled smear at epoch "
       "0 to two clusters on either side of the output layer's line. Click one to show it above. "
       "The same panels, with axes, are in <code>embedding.svg</code> next to this page.</p>\n";
  b += "<div class=\"strip\" id=\"strip-emb\"></div>\n";
  b += "<p>The decision boundary at the same epochs (fig. 6b): the straight line of the "
       "embedding is a curve in the input plane (<code>boundary.svg</code>).</p>\n";
  b += "<div class=\"strip\" id=\"strip-bnd\"></div>\n";

  b += "<h2>The data</h2>\n<figure>" + f.data +
       "<figcaption>Two interleaving half moons (the post's fig. 2). No straight line separates "
       "them in the input plane: that is what the hidden layers are for.</figcaption></figure>\n";
  b += "<h2>Linear versus affine</h2>\n<figure>" + f.transform +
       "<figcaption>A random 2&times;2 matrix <i>W</i> (fig. 3). The columns of <i>W</i> are the "
       "images of the basis vectors e1 and e2, and every <i>W x</i> is the same weighted sum of "
       "them: the whole plane is sheared, rotated and scaled, but the origin stays put. Adding "
       "<i>b</i> moves everything by <i>b</i>, origin included.</figcaption></figure>\n";
  b += "<h2>Loss and accuracy</h2>\n<figure>" + f.curves +
       "<figcaption>Binary cross-entropy and accuracy after every epoch, on the training set and "
       "on the held-out 20%.</figcaption></figure>\n";
  b += "<p>The trained weights are in <code>model.safetensors</code> next to this page "
       "(names <code>0.weight</code>, <code>0.bias</code>, <code>2.weight</code>, ... as in "
       "PyTorch's <code>nn.Sequential</code>).</p>\n";
  b += "<script>\n" + data_script(h, geometry) + "</script>\n";

  return viz::html_page("affine: two moons, from a linear-algebraic perspective", b, kCss, kScript);
}

}  // namespace moons
