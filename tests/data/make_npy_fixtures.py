#!/usr/bin/python3
"""Writes the .npy fixtures read by tests/npy_test.cpp, using NumPy itself as the reference writer.

Run from anywhere:  /usr/bin/python3 tests/data/make_npy_fixtures.py   (NumPy >= 1.17)
The values are simple formulas so the C++ test can restate them exactly; rerunning the script
must reproduce the committed files byte for byte.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")


def save(name, arr, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, arr, allow_pickle=False)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Accepted files.
    save("f4_2x3.npy", (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3))
    save("f8_1d.npy", np.array([1.5, -2.25, 1e300, -0.0], dtype="<f8"))
    save("i8_1d.npy", np.array([0, -1, 2**62, -(2**63)], dtype="<i8"))
    save("f4_rank0.npy", np.array(3.25, dtype="<f4"))
    save("f8_zero_size.npy", np.zeros((0, 3), dtype="<f8"))
    save("f4_3d.npy", np.arange(24, dtype="<f4").reshape(2, 3, 4) / np.float32(8))
    save("f8_v2.npy", np.linspace(0, 1, 5, dtype="<f8"), version=(2, 0))
    # Files NumPy writes that affine refuses, each with its own message.
    save("f4_fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    save("f4_big_endian.npy", np.arange(3, dtype=">f4"))
    save("i4_1d.npy", np.arange(3, dtype="<i4"))


if __name__ == "__main__":
    main()
