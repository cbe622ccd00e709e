#!/usr/bin/env python3
"""Fits the float32 polynomial coefficients of tensor/src/vmath_impl.hpp.

Run: /usr/bin/python3 tools/fit_vmath.py      (numpy + mpmath, both from Debian; ~10 s)

Each fit is a weighted minimax problem solved by the Remez exchange algorithm:

    minimise  max_{t in [lo, hi]}  | w(t) * (g(t) - sum_k c_k t^k) |

g is what the polynomial has to supply once the exact leading terms are peeled off, and w turns
the polynomial's error into the relative error of the final function:

  expm1(r) = r + r^2 * P(r),           r in [-ln2/2, ln2/2] (+ margin)
             g = (expm1(r) - r) / r^2,  w = r^2 / expm1(r)  (~ |r|)
             The same P serves exp, since exp(r) = 1 + expm1(r) (error there ~ r^2 dP, smaller).
  log1p(f) = f - f^2/2 + f^3 * L(f),   f in [sqrt(1/2) - 1, sqrt(2) - 1]
             g = (log1p(f) - f + f^2/2) / f^3,  w = f^3 / log1p(f)  (~ f^2)

Both weights vanish at t = 0, where the leading terms are exact and the polynomial's error does
not matter; Remez needs a positive weight, so |t|^p is floored at 0.02^p (the fit is then
minimax for the relative error wherever |t| > 0.02, and far below it inside).

g and w are evaluated once on a fine grid in 50-digit arithmetic (mpmath: no cancellation in
expm1(r) - r); the exchange itself runs in float64, ample for errors near 1e-9.

Coefficients are rounded to float32 one at a time from the lowest order up; after each rounding
the higher-order coefficients are refitted, so they absorb the rounding of the lower ones. The
printed error is the rounded polynomial's own relative error, before float32 evaluation
rounding; the total error of each function is measured by tests/vmath_test.cpp.
"""
import numpy as np
import mpmath as mp

mp.mp.dps = 50
GRID = 6001


def f32(x):
    return float(np.float32(x))


def tabulate(fn_g, fn_w, lo, hi):
    ts = [mp.mpf(lo) + (mp.mpf(hi) - mp.mpf(lo)) * i / (GRID - 1) for i in range(GRID)]
    t = np.array([float(x) for x in ts])
    g = np.array([float(fn_g(x)) for x in ts])
    w = np.array([float(fn_w(x)) for x in ts])
    return t, g, w


def remez(t, g, w, deg, fixed=(), iters=40):
    """c[0..deg] with c[:len(fixed)] = fixed, minimising max |w (g - poly)| over the grid t."""
    nfix = len(fixed)
    nfree = deg + 1 - nfix
    target = g - sum(c * t**k for k, c in enumerate(fixed))
    m = nfree + 1
    # Start from Chebyshev extrema mapped to the grid.
    cheb = 0.5 - 0.5 * np.cos(np.pi * np.arange(m) / (m - 1))
    ref = np.unique(np.round(cheb * (len(t) - 1)).astype(int))
    best = None
    for _ in range(iters):
        A = np.empty((m, m))
        for j in range(nfree):
            A[:, j] = t[ref] ** (nfix + j)
        A[:, nfree] = (-1.0) ** np.arange(m) / w[ref]
        sol = np.linalg.solve(A, target[ref])
        coef = sol[:nfree]
        err = w * (target - sum(c * t ** (nfix + j) for j, c in enumerate(coef)))
        emax = np.max(np.abs(err))
        if best is None or emax < best[1]:
            best = (coef, emax)
        # New reference: the largest |err| in each run of one sign, m alternating points.
        sign = np.sign(err)
        bounds = np.flatnonzero(np.diff(sign) != 0) + 1
        runs = np.split(np.arange(len(t)), bounds)
        ext = [r[np.argmax(np.abs(err[r]))] for r in runs]
        while len(ext) > m:
            if abs(err[ext[0]]) < abs(err[ext[-1]]):
                ext.pop(0)
            else:
                ext.pop()
        if len(ext) < m:
            break
        ref = np.array(ext)
    return list(fixed) + list(best[0]), best[1]


def fit_f32(name, tab, deg):
    t, g, w = tab
    fixed = []
    for k in range(deg + 1):
        c, _ = remez(t, g, w, deg, fixed=fixed)
        fixed.append(f32(c[k]))
    err = w * (g - sum(c * t**k for k, c in enumerate(fixed)))
    e = np.max(np.abs(err))
    print(f"{name}: degree {deg}, max weighted relative error {e:.3e} "
          f"= {e * 2**23:.4f} ulp of 1 (2^-23)")
    for k, c in enumerate(fixed):
        print(f"  c{k} = {np.float32(c)!r:<30} {float.hex(c)}")
    return fixed


def floor_pow(t, p):
    return mp.mpf(max(abs(t), mp.mpf("0.02"))) ** p


def g_expm1(r):
    return (mp.expm1(r) - r) / r**2 if r != 0 else mp.mpf(1) / 2


def w_expm1(r):
    return floor_pow(r, 2) / abs(mp.expm1(r)) if r != 0 else floor_pow(r, 1)


def g_log1p(f):
    return (mp.log1p(f) - f + f**2 / 2) / f**3 if f != 0 else mp.mpf(1) / 3


def w_log1p(f):
    return floor_pow(f, 3) / abs(mp.log1p(f)) if f != 0 else floor_pow(f, 2)


if __name__ == "__main__":
    # r = x - n ln2 with n = round(x log2e) computed in float32: |r| can exceed ln2/2 by a few
    # float32 ulps of x * log2e (|x| <= 104), hence the margin.
    a = mp.log(2) / 2 + mp.mpf("1e-4")
    tab = tabulate(g_expm1, w_expm1, -a, a)
    for deg in (3, 4, 5):
        fit_f32("expm1: P(r)", tab, deg)
    lo = mp.mpf(f32(np.sqrt(0.5))) - 1
    hi = mp.mpf(f32(np.sqrt(2.0))) - 1
    tab = tabulate(g_log1p, w_log1p, lo, hi)
    for deg in (5, 6, 7, 8):
        fit_f32("log1p: L(f)", tab, deg)
