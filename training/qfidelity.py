"""How closely int8 models follow build/model/dermal-fp32.onnx on training photos that calibration
did not use: top-class agreement and logit error, by the reference interpreter (onnxeval's fake
quantization, not ONNX Runtime's kernels). For comparing quantizer settings without looking at
validation or test photos.

Usage: /usr/bin/python3 training/qfidelity.py [--images N] INT8.onnx [INT8.onnx ...]
"""
import argparse
import os

import numpy as np
import onnx
import torch

import common
import onnxeval


def logits(model, images, batch=32):
    out = []
    for i in range(0, len(images), batch):
        out.append(onnxeval.run(model, {"image": common.to_input(images[i : i + batch])})["logits"])
    return torch.cat(out).numpy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--calibration-images", type=int, default=256, help="as quantize.py drew them, to skip")
    p.add_argument("models", nargs="+")
    args = p.parse_args()
    torch.set_num_threads(2)
    train = [r[0] for r in common.read_split() if r[3] == "train"]
    rng = np.random.RandomState(common.SEED)
    calibration = set(train[i] for i in rng.choice(len(train), args.calibration_images, replace=False))
    rest = [t for t in train if t not in calibration]
    ids = [rest[i] for i in np.random.RandomState(common.SEED + 1).choice(len(rest), args.images, replace=False)]
    images = common.load_images(ids)
    ref = logits(onnx.load(os.path.join(common.BUILD, "dermal-fp32.onnx")), images)
    for path in args.models:
        got = logits(onnx.load(path), images)
        agree = (got.argmax(1) == ref.argmax(1)).mean()
        print(f"{path}: top-class agreement {agree:.4f} ({int(round(agree * len(ids)))}/{len(ids)}), "
              f"logit MSE {((got - ref) ** 2).mean():.5f}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
