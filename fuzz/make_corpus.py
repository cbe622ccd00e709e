#!/usr/bin/env python3
"""Writes the seed corpus for safetensors_fuzz: valid files of every supported dtype and shape
kind, plus hand-corrupted variants (one defect each), so the fuzzer starts next to every check.
Only the standard library is used. Regenerate with:  python3 fuzz/make_corpus.py
"""
import json
import os
import shutil
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")


def header_file(header, data=b"", pad=True, length=None):
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def valid(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(blob)]}
        off += len(blob)
        blobs.append(blob)
    return header, b"".join(blobs)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    f32 = struct.pack("<6f", 1, -2, 3.5, 0, -0.0, 1e-3)
    f64 = struct.pack("<3d", 1 / 3, -1e300, 2)
    i64 = struct.pack("<2q", -1, 2**63 - 1)
    model = valid([("0.weight", "F32", [2, 3], f32), ("0.bias", "F64", [3], f64),
                   ("optim.step", "I64", [2], i64)], {"format": "pt"})
    seeds = {
        "model": header_file(*model),
        "rank0": header_file(*valid([("s", "F64", [], struct.pack("<d", 2.5))])),
        "zero_size": header_file(*valid([("e", "F32", [0, 3], b""), ("x", "I64", [1], i64[:8])])),
        "empty": header_file({}),
        "metadata_only": header_file({"__metadata__": {"a": "b", "c": "d"}}),
        "unpadded": header_file(*model, pad=False),
        "rank8": header_file(*valid([("r", "F32", [1] * 8, f32[:4])])),
    }
    h, d = model
    def mutate(fn):
        hh = json.loads(json.dumps(h))
        fn(hh)
        return hh
    seeds.update({
        "bad_truncated": header_file(*model)[:40],
        "bad_short": b"\x05\x00\x00",
        "bad_len_max": b"\xff" * 8 + b"{}",
        "bad_len_past_end": header_file(b"{}", length=4096),
        "bad_json": header_file(b'{"a":{"dtype":"F32",'),
        "bad_utf8": header_file(b'{"\xc3\x28":1}'),
        "bad_nul": header_file(b'{}\x00\x00'),
        "bad_dtype": header_file(mutate(lambda x: x["0.weight"].update(dtype="BF16")), d),
        "bad_rank9": header_file(mutate(lambda x: x["0.weight"].update(shape=[1] * 9)), d),
        "bad_dim_neg": header_file(mutate(lambda x: x["0.weight"].update(shape=[-1, 3])), d),
        "bad_dim_float": header_file(mutate(lambda x: x["0.weight"].update(shape=[2.5, 3])), d),
        "bad_overflow": header_file(mutate(lambda x: x["0.weight"].update(shape=[2**32, 2**32])), d),
        "bad_overlap": header_file(mutate(lambda x: x["0.bias"].update(data_offsets=[16, 40])), d),
        "bad_oob": header_file(mutate(lambda x: x["optim.step"].update(data_offsets=[48, 9999])), d),
        "bad_gap": header_file(mutate(lambda x: x["0.bias"].update(data_offsets=[28, 52])), d + b"\0" * 4),
        "bad_dup": header_file(b'{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},'
                               b'"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}', b"\0" * 8),
        "bad_short_data": header_file(*model)[:-5],
        "bad_meta": header_file(mutate(lambda x: x.update(__metadata__={"k": 1})), d),
        "bad_missing_key": header_file(mutate(lambda x: x["0.bias"].pop("shape")), d),
        "bad_deep": header_file(b"[" * 64 + b"]" * 64),
    })
    for name, data in seeds.items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(data)
    print("wrote", len(seeds), "seeds to", OUT)


if __name__ == "__main__":
    main()
