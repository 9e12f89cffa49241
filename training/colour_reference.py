"""Writes internal/inference/testdata/colour_constancy.json: what training's colour constancy
(common.to_input with Shades of Gray) makes of the committed fixture photos, for the Go parity
test TestColourConstancyMatchesTraining. Each fixture is used as it is and with a strong
colour cast made by integer arithmetic the Go test repeats (red x3/2 capped at 255, blue x2/3).
Run: /usr/bin/python3 training/colour_reference.py (a second; no data set needed).
"""
import glob
import json
import os

import numpy as np
import torch
from PIL import Image

import common

FIXTURES = os.path.join(common.ROOT, "internal", "inference", "testdata", "fixtures")
OUT = os.path.join(common.ROOT, "internal", "inference", "testdata", "colour_constancy.json")
SAMPLES = 64


def cast(u8):
    out = u8.astype(np.int64)
    out[..., 0] = np.minimum(255, out[..., 0] * 3 // 2)
    out[..., 2] = out[..., 2] * 2 // 3
    return out.astype(np.uint8)


def main():
    cases = []
    rng = np.random.RandomState(common.SEED)
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.png"))):
        with Image.open(path) as im:
            u8 = np.asarray(im.convert("RGB"), dtype=np.uint8)
        for variant, pix in (("as is", u8), ("cast", cast(u8))):
            batch = torch.from_numpy(pix.copy())[None]
            gains = common.sog_gains(batch)[0]
            x = common.to_input(batch, "shades_of_gray_p6")[0].numpy()
            flat = x.reshape(-1)
            idx = sorted(rng.choice(flat.size, SAMPLES, replace=False).tolist())
            cases.append({"file": os.path.basename(path), "variant": variant,
                          "gains": [float(g) for g in gains],
                          "channel_sums": [float(np.sum(x[c], dtype=np.float64)) for c in range(3)],
                          "samples": {"index": idx, "value": [float(flat[i]) for i in idx]}})
    with open(OUT, "w") as f:
        json.dump({"method": "shades_of_gray_p6", "mean": common.MEAN, "std": common.STD, "cases": cases}, f, indent=1)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
