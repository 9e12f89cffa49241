"""Exports build/model/weights.pt to build/model/dermal-fp32.onnx and checks the graph against torch.

Outputs of the graph:
  logits    [N, 7]        class scores (before temperature)
  cam       [N, 7, h, w]  sum_k W[c,k] * A_k over the last feature map: Grad-CAM up to a factor
  embedding [N, 1280]     pooled features, for the out-of-distribution check
"""
import os

import numpy as np
import onnx
import torch

import common
import onnxeval

OPSET = 13  # per-channel DequantizeLinear (axis) needs 13


def load_trained():
    net = common.DermalNet()
    net.load_state_dict(torch.load(os.path.join(common.BUILD, "weights.pt"), map_location="cpu"))
    return net.eval()


def main():
    torch.set_num_threads(2)
    net = load_trained()
    path = os.path.join(common.BUILD, "dermal-fp32.onnx")
    dummy = torch.zeros(1, 3, common.INPUT_H, common.INPUT_W)
    torch.onnx.export(
        net, dummy, path, opset_version=OPSET, do_constant_folding=True,
        input_names=["image"], output_names=["logits", "cam", "embedding"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "cam": {0: "batch"}, "embedding": {0: "batch"}},
    )
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("fp32 graph ops:", ops)
    if "BatchNormalization" in ops:
        raise SystemExit("batch norm was not folded into the convolutions")
    ids = [r[0] for r in common.read_split() if r[3] == "test"][:8]
    x = common.to_input(common.load_images(ids))
    with torch.no_grad():
        want = net(x)
    got = onnxeval.run(model, {"image": x})
    for name, w in zip(["logits", "cam", "embedding"], want):
        diff = float((got[name] - w).abs().max())
        print(f"onnx graph vs torch, {name}: max abs diff {diff:.2e}")
        if diff > 1e-3:
            raise SystemExit(f"exported graph disagrees with torch on {name}")


if __name__ == "__main__":
    main()
