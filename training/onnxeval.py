"""A small ONNX interpreter on torch ops, for the few operators Dermal's graph uses.

There is no onnxruntime for Python on the build machine, yet calibration needs the value of every
intermediate tensor of the exported graph by its ONNX name, and the quantized graph needs a
reference run (fake quantization) to compare with ONNX Runtime from the Go side. Unknown operators
raise, so the interpreter never silently computes something else.
"""
import numpy as np
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.STRING:
            out[a.name] = a.s.decode()
        elif a.type == a.TENSOR:
            out[a.name] = torch.from_numpy(numpy_helper.to_array(a.t).copy())
    return out


def _quantize(x, scale, zp, axis, dtype):
    shape = [1] * x.dim()
    if scale.dim() == 1 and scale.numel() > 1:
        shape[axis] = -1
    lo, hi = (0, 255) if dtype == torch.uint8 else (-128, 127)
    return torch.clamp(torch.round(x / scale.view(shape)) + zp.view(shape).float(), lo, hi)


def run(model, feeds, keep=None):
    """Runs model (onnx.ModelProto) on feeds {name: tensor}; returns {name: tensor} of outputs and keep."""
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    env.update(feeds)
    keep_inputs = {k: v for k, v in feeds.items() if k in set(keep or [])}
    want = set(o.name for o in model.graph.output) | set(keep or [])
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3]:
                raise ValueError(f"asymmetric pads in {node.name}")
            y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a.get("strides", [1, 1]),
                         padding=pads[:2], dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif op == "Clip":
            y = torch.clamp(x[0], float(x[1]) if len(x) > 1 and x[1] is not None else None,
                            float(x[2]) if len(x) > 2 and x[2] is not None else None)
        elif op == "Relu":
            y = torch.relu(x[0])
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "Sub":
            y = x[0] - x[1]
        elif op == "Div":
            y = x[0] / x[1]
        elif op == "ReduceMean":
            y = x[0].mean(dim=a["axes"], keepdim=bool(a.get("keepdims", 1)))
        elif op == "GlobalAveragePool":
            y = x[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            y = torch.flatten(x[0], a.get("axis", 1))
        elif op == "Reshape":
            y = x[0].reshape([int(v) for v in x[1]])
        elif op == "Gemm":
            b = x[1].t() if a.get("transB", 0) else x[1]
            y = x[0] @ b
            if len(x) > 2:
                y = y + x[2]
        elif op == "MatMul":
            y = x[0] @ x[1]
        elif op == "Transpose":
            y = x[0].permute(a["perm"])
        elif op == "Unsqueeze":
            y = x[0]
            for ax in sorted(a["axes"] if "axes" in a else [int(v) for v in x[1]]):
                y = y.unsqueeze(ax)
        elif op == "Constant":
            y = a["value"]
        elif op == "Resize":
            sizes = x[3] if len(x) > 3 and x[3] is not None else None
            if a.get("mode") != "linear" or a.get("coordinate_transformation_mode") != "half_pixel":
                raise ValueError(f"unsupported Resize in {node.name}: {a}")
            if sizes is None:
                scales = x[2]
                sizes = [int(round(s * float(f))) for s, f in zip(x[0].shape, scales)]
            y = F.interpolate(x[0], size=[int(v) for v in sizes[2:]], mode="bilinear", align_corners=False)
        elif op == "QuantizeLinear":
            dtype = torch.uint8 if x[2].dtype == torch.uint8 else torch.int8
            y = _quantize(x[0], x[1], x[2], a.get("axis", 1), dtype)
        elif op == "DequantizeLinear":
            shape = [1] * x[0].dim()
            if x[1].dim() == 1 and x[1].numel() > 1:
                shape[a.get("axis", 1)] = -1
            y = (x[0].float() - x[2].float().view(shape)) * x[1].view(shape)
        else:
            raise ValueError(f"onnxeval does not implement {op} ({node.name})")
        env[node.output[0]] = y
    out = {k: env[k] for k in want}
    out.update(keep_inputs)
    return out


def to_numpy(d):
    return {k: v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for k, v in d.items()}
