#!/usr/bin/python3
"""Writes scikit-learn's 8x8 handwritten digits as .npy files for examples/digits.

load_digits() holds 1,797 images of 8x8 pixels with values 0..16 and their labels 0..9. They are
scaled to [0, 1], shaped [N, 1, 8, 8] (NCHW, one channel) as float32, and split 80/20 by a fixed
permutation (NumPy's default_rng(0)), so every run trains and tests on the same images:
    train_images.npy [1438, 1, 8, 8] float32    train_labels.npy [1438] int64
    test_images.npy  [359, 1, 8, 8]  float32    test_labels.npy  [359]  int64

Regenerate (Debian's python3-sklearn): /usr/bin/python3 examples/digits/data/make_digits.py
"""
import os

import numpy as np
from sklearn.datasets import load_digits

here = os.path.dirname(os.path.abspath(__file__))
digits = load_digits()
images = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
labels = digits.target.astype(np.int64)
order = np.random.default_rng(0).permutation(len(labels))
n_train = int(round(0.8 * len(labels)))
splits = {"train": order[:n_train], "test": order[n_train:]}
for name, idx in splits.items():
    np.save(os.path.join(here, name + "_images.npy"), np.ascontiguousarray(images[idx]))
    np.save(os.path.join(here, name + "_labels.npy"), np.ascontiguousarray(labels[idx]))
    print(name, images[idx].shape, np.bincount(labels[idx], minlength=10))
