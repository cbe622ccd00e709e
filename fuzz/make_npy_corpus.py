#!/usr/bin/env python3
"""Writes the seed corpus for npy_fuzz: valid .npy files (versions 1.0, 2.0, 3.0; <f4, <f8, <i8;
rank 0 to 3; empty) plus variants with one defect each, so the fuzzer starts next to every check.
Only the standard library is used. Regenerate with:  python3 fuzz/make_npy_corpus.py
"""
import os
import shutil
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "npy")


def npy(descr, shape, data, version=1, fortran=False, header=None, pad=True):
    if header is None:
        dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
            descr, "True" if fortran else "False", dims)
    text = header.encode("utf-8" if version == 3 else "latin1")
    lenfmt = "<H" if version == 1 else "<I"
    pre = 10 if version == 1 else 12
    if pad:
        text += b" " * ((64 - (pre + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(lenfmt, len(text)) + text + data


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    f4 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    f8 = struct.pack("<3d", 0.5, -1, 2)
    i8 = struct.pack("<2q", 7, -8)
    seeds = {
        "f4_2x3.npy": npy("<f4", (2, 3), f4),
        "f8_3.npy": npy("<f8", (3,), f8),
        "i8_2.npy": npy("<i8", (2,), i8),
        "rank0.npy": npy("<f8", (), struct.pack("<d", 3.5)),
        "empty.npy": npy("<f4", (0, 4), b""),
        "rank3.npy": npy("<f4", (1, 2, 3), f4),
        "v2.npy": npy("<f8", (3,), f8, version=2),
        "v3.npy": npy("<f8", (3,), f8, version=3),
        "bad_magic.npy": b"\x93NUMPX" + npy("<f8", (3,), f8)[6:],
        "bad_version.npy": npy("<f8", (3,), f8, version=9),
        "bad_descr.npy": npy(">f8", (3,), f8),
        "bad_fortran.npy": npy("<f4", (2, 3), f4, fortran=True),
        "bad_shape_neg.npy": npy("<f8", (-3,), f8),
        "bad_shape_huge.npy": npy("<f8", (1 << 40, 1 << 40), f8),
        "bad_truncated.npy": npy("<f4", (2, 3), f4)[:-5],
        "bad_header_len.npy": npy("<f8", (3,), f8)[:8] + struct.pack("<H", 60000) + b"{}",
        "bad_dict.npy": npy("<f8", (3,), f8, header="{'descr': '<f8', 'shape': (3,)"),
        "bad_nopad.npy": npy("<f8", (3,), f8, pad=False),
        "short.npy": b"\x93NUM",
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
