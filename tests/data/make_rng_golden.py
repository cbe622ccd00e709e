#!/usr/bin/python3
"""An independent re-implementation of affine::Generator (tensor/include/affine/tensor/random.hpp)
in plain Python, used to check the golden values hard-coded in tests/random_test.cpp.

SplitMix64 expands the seed into the state of xoshiro256**; uniform() = (next >> 11) * 2^-53;
normal() = Marsaglia polar method with the portable log below. Python floats are IEEE doubles and
Python never fuses a*b+c, so this reproduces the C++ results bit for bit, including normal().

Run: /usr/bin/python3 tests/data/make_rng_golden.py   (prints C++ initialisers)
"""
import math

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def portable_log(x):
    m, e = math.frexp(x)
    if m < 0.70710678118654752440:
        m = m * 2.0
        e -= 1
    z = (m - 1.0) / (m + 1.0)
    z2 = z * z
    p = 1.0 / 25.0
    for k in range(11, -1, -1):
        p = p * z2 + 1.0 / float(2 * k + 1)
    log_m = 2.0 * z * p
    ln2_hi = 6.93147180369123816490e-01
    ln2_lo = 1.90821492927058770002e-10
    de = float(e)
    return de * ln2_hi + (log_m + de * ln2_lo)


class Generator:
    def __init__(self, seed):
        x = seed & MASK
        self.s = []
        for _ in range(4):
            x, v = splitmix64(x)
            self.s.append(v)
        self.spare = None

    def next_u64(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return float(self.next_u64() >> 11) * 2.0**-53

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                break
        m = math.sqrt((-2.0 * portable_log(s)) / s)
        self.spare = v * m
        return u * m


def hexf(x):
    return float.hex(x)


def main():
    # Reference check of the published xoshiro256** / SplitMix64 definitions: SplitMix64 seeded
    # with 1234567 gives 6457827717110365317 first (the value in Vigna's splitmix64.c test output).
    _, first = splitmix64(1234567)
    assert first == 6457827717110365317, first
    # xoshiro256** from the state {1, 2, 3, 4}: the reference test vector (as in rand_xoshiro).
    g = Generator(0)
    g.s = [1, 2, 3, 4]
    assert [g.next_u64() for _ in range(4)] == [11520, 0, 1509978240, 1215971899390074240]
    # A sanity check on the portable log against libm (not bit-exact, just close).
    for x in (0.5, 0.1, 0.999, 1e-300, 0.7071, 0.3):
        assert abs(portable_log(x) - math.log(x)) <= 2e-16 * abs(math.log(x)) + 1e-300, x

    for seed in (0, 42, MASK):
        g = Generator(seed)
        print(f"// seed {seed}: state after seeding")
        print("{" + ", ".join(f"0x{w:016x}ULL" for w in g.s) + "}")
        print("// next_u64 x 4")
        print("{" + ", ".join(f"0x{g.next_u64():016x}ULL" for _ in range(4)) + "}")
        g = Generator(seed)
        print("// uniform x 4")
        print("{" + ", ".join(hexf(g.uniform()) for _ in range(4)) + "}")
        g = Generator(seed)
        print("// normal x 5")
        print("{" + ", ".join(hexf(g.normal()) for _ in range(5)) + "}")


if __name__ == "__main__":
    main()
