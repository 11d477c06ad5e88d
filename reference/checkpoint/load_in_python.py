"""Open an mtrec checkpoint with Hugging Face's `safetensors` package and list its tensors.

    reference/.venv/bin/python reference/checkpoint/load_in_python.py model.safetensors

Prints the `__metadata__` strings, then one line per tensor: name, shape, dtype and a few
summary numbers, so a file written by mtrec (src/checkpoint) can be checked from Python.
Works for `model.safetensors` (plain parameter names) and `state.safetensors`
(`param/`, `adam.m/`, `adam.v/`, `sgd.velocity/`, `best/` prefixes). Needs
`pip install safetensors numpy` (see docs/checkpoint.md).
"""

import json
import struct
import sys

import numpy as np
from safetensors.numpy import load_file


def read_metadata(path):
    """The `__metadata__` map from the file's JSON header (load_file does not return it)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return header.get("__metadata__", {})


def main(argv):
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} FILE.safetensors")
    path = argv[1]
    for key, value in sorted(read_metadata(path).items()):
        print(f"meta {key} = {value}")
    tensors = load_file(path)  # name -> numpy array
    for name in sorted(tensors):
        a = tensors[name]
        print(
            f"{name:32s} shape {str(list(a.shape)):10s} {a.dtype}  "
            f"mean {a.mean():+.6f}  max|x| {np.abs(a).max():.6f}"
        )
    total = sum(a.size for a in tensors.values())
    print(f"{len(tensors)} tensors, {total} values")


if __name__ == "__main__":
    main(sys.argv)
