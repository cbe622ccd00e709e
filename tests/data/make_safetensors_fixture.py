#!/usr/bin/env python3
"""Writes the safetensors fixtures that tests/checkpoint_test.cpp reads, using only the Python
standard library (struct + json), so the files come from an implementation independent of
affine's. Regenerate with:  python3 tests/data/make_safetensors_fixture.py

  safetensors/fixture.safetensors       the layout affine writes (compact JSON, keys in data
                                        order, __metadata__ first, padded with spaces to a
                                        multiple of 8): affine must load it and re-save it
                                        byte for byte.
  safetensors/python_order.safetensors  what other writers do: keys sorted (not in data order),
                                        json.dumps's default ", " / ": " separators, \\u escapes
                                        for non-ASCII, no padding.

If the `safetensors` package is importable, both files are also read back with it as a
cross-check; otherwise that step is skipped (Debian does not package it).
"""
import json
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "safetensors")

# name, safetensors dtype, struct code, shape, values (row-major). The C++ test has the same table.
TENSORS = [
    ("weight", "F32", "f", [2, 3], [0.5, -1.25, 3.0, 1e-8, -0.0, math.inf]),
    ("bias", "F64", "d", [3], [1.0 / 3.0, -2.5, 1e300]),
    ("step", "I64", "q", [], [-(2**62) + 5]),
    ("empty", "F32", "f", [0, 4], []),
    ("index", "I64", "q", [2, 2], [0, -1, 2**63 - 1, -(2**63)]),
]


def pack(code, values):
    return struct.pack("<%d%s" % (len(values), code), *values)


def build(tensors, metadata, key_order, dumps, pad):
    blobs, header, offset = [], {}, 0
    for name, dtype, code, shape, values in tensors:
        blob = pack(code, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    ordered = {}
    if metadata is not None:
        ordered["__metadata__"] = metadata
    for name in key_order:
        ordered[name] = header[name]
    text = dumps(ordered).encode("utf-8")
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write(name, data):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    print("wrote", path, len(data), "bytes")
    return path


def cross_check(path, tensors):
    try:
        from safetensors.numpy import load_file  # noqa: PLC0415
    except ImportError:
        print("  (safetensors not installed: cross-check skipped)")
        return
    loaded = load_file(path)
    assert sorted(loaded) == sorted(t[0] for t in tensors), sorted(loaded)
    for name, _, code, shape, values in tensors:
        got = loaded[name]
        assert list(got.shape) == shape, (name, got.shape, shape)
        assert got.tobytes() == pack(code, values), name
    print("  cross-checked with safetensors")


def main():
    os.makedirs(OUT, exist_ok=True)
    names = [t[0] for t in TENSORS]
    compact = lambda obj: json.dumps(obj, separators=(",", ":"))  # noqa: E731
    p1 = write("fixture.safetensors",
               build(TENSORS, {"format": "pt", "source": "make_safetensors_fixture.py"},
                     names, compact, pad=True))
    cross_check(p1, TENSORS)
    renamed = [("gewicht_\u00fc" if t[0] == "weight" else t[0],) + t[1:] for t in TENSORS]
    p2 = write("python_order.safetensors",
               build(renamed, {"note": "caf\u00e9"}, sorted(t[0] for t in renamed),
                     lambda obj: json.dumps(obj, ensure_ascii=True), pad=False))
    cross_check(p2, renamed)


if __name__ == "__main__":
    main()
