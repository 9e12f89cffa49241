"""Peer benchmark: the fp32 network under Debian's PyTorch (the kind of stack the old web app
ran). Same architecture as the shipped model (training/common.py DermalNet); weights from
build/model/weights.pt when present, else random (same shapes: same memory and latency).

usage: torch_peer.py latency THREADS RUNS        -> JSON {p50_ms, p95_ms}
       torch_peer.py classify THREADS IMAGE OUT  -> JSON {top, ms}: decode, preprocess, forward,
                                                    Grad-CAM overlay saved as PNG (what
                                                    `dermal classify --gradcam` does)
"""
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "training"))
from common import DermalNet, to_input  # noqa: E402


def net():
    n = DermalNet().eval()
    ckpt = os.path.join(os.path.dirname(__file__), "..", "..", "build", "model", "weights.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt, map_location="cpu")
        n.load_state_dict(state.get("model", state) if isinstance(state, dict) else state, strict=False)
    return n


def main():
    mode, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    n = net()
    if mode == "latency":
        runs = int(sys.argv[3])
        x = torch.randn(1, 3, 150, 200)
        times = []
        with torch.no_grad():
            for _ in range(10):
                n(x)
            for _ in range(runs):
                t = time.perf_counter()
                n(x)
                times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(json.dumps({"p50_ms": times[len(times) // 2], "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))]}))
        return
    image, out = sys.argv[3], sys.argv[4]
    t = time.perf_counter()
    img = Image.open(image).convert("RGB")
    w, h = img.size
    cw, ch = w, w * 3 // 4
    if ch > h:
        ch, cw = h, h * 4 // 3
    img = img.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)).resize((200, 150), Image.LANCZOS)
    x = to_input(torch.from_numpy(np.asarray(img).copy())[None])
    with torch.no_grad():
        logits, cam, _ = n(x)
    top = int(logits.argmax())
    m = torch.relu(cam[0, top])
    m = (m / m.max().clamp(min=1e-12)).numpy()
    heat = Image.fromarray((m * 255).astype(np.uint8)).resize((200, 150), Image.BILINEAR).convert("RGB")
    Image.blend(img, heat, 0.45).save(out)
    print(json.dumps({"top": top, "ms": (time.perf_counter() - t) * 1000}))


if __name__ == "__main__":
    main()
