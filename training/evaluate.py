"""Everything about the trained model that torch can compute: fp32 logits on val and test,
embedding centroids and the out-of-distribution threshold, photo-quality thresholds, the Go
parity fixtures, the fp32 test model, and a draft card the Go side uses to score the int8 model.

Writes build/model/fp32_{val,test}.npz, build/model/card-draft.json, internal/inference/testdata/fixtures/*.
"""
import hashlib
import json
import os
import shutil

import numpy as np
import onnx
import torch
from onnx import external_data_helper
from PIL import Image

import common
import onnxeval
from export import load_trained

# make model writes the Go parity tests' fixtures into the source tree; a run on another split
# (make model-shift sets DERMAL_SPLIT) keeps its own in its build folder, never the tree's.
TESTDATA = (os.path.join(common.BUILD, "testdata") if "DERMAL_SPLIT" in os.environ
            else os.path.join(common.ROOT, "internal", "inference", "testdata"))
FIXTURES = os.path.join(TESTDATA, "fixtures")
FP32_DIR = os.path.join(TESTDATA, "fp32")
# One test-split image per class, the first of each class in split order (deterministic).
FIXTURE_CLASSES = common.LABELS


def quality_stats(img):
    """Sharpness, brightness and clipped share of an HxWx3 uint8 picture; inference/quality.go
    computes the same quantities the same way."""
    f = img.astype(np.float64)
    gray = 0.299 * f[:, :, 0] + 0.587 * f[:, :, 1] + 0.114 * f[:, :, 2]
    lap = gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4 * gray[1:-1, 1:-1]
    clipped = ((gray >= 250) | (gray <= 5)).mean()
    return float(lap.var()), float(gray.mean()), float(clipped)


def blue_share(img):
    """Blue's share of the mean colour, B / (R + G + B) of an HxWx3 uint8 picture;
    inference/quality.go computes the same."""
    m = img.reshape(-1, 3).astype(np.float64).sum(axis=0)
    return float(m[2] / m.sum()) if m.sum() > 0 else 0.0


@torch.no_grad()
def forward_all(net, images, batch=100):
    logits, embs = [], []
    for i in range(0, len(images), batch):
        # channels-last: PyTorch's faster CPU convolution path (same numbers to float rounding)
        lg, _, emb = net(common.to_input(images[i : i + batch]).contiguous(memory_format=torch.channels_last))
        logits.append(lg)
        embs.append(emb)
    return torch.cat(logits).numpy(), torch.cat(embs).numpy()


OOD_COMPONENTS = 96


def ood_residual(emb, mean, comps):
    """Share of the centred embedding's length outside the top principal components;
    inference/quality.go computes the same."""
    x = emb - mean
    r = x - (x @ comps.T) @ comps
    return np.linalg.norm(r, axis=1) / np.linalg.norm(x, axis=1).clip(min=1e-12)


def normalize_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(min=1e-12)


def autograd_gradcam(a, fc_weight, fc_bias):
    """Grad-CAM by autograd: d logit_c / d A, averaged over space, weighting A's channels.

    a: [1, K, h, w] last feature map. Returns [classes, h, w] maps after ReLU, each divided by
    its maximum (zeros where the map has no positive part)."""
    maps = []
    for c in range(fc_weight.shape[0]):
        a_ = a.clone().requires_grad_(True)
        logit = (a_.mean(dim=(2, 3)) @ fc_weight.t() + fc_bias)[0, c]
        (grad,) = torch.autograd.grad(logit, a_)
        alpha = grad.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((alpha * a_).sum(dim=1))[0].detach()
        m = cam.max()
        maps.append((cam / m if m > 0 else cam).numpy())
    return np.stack(maps)


def save_fp32_test_model(src):
    """The fp32 graph for the Go parity tests, with its weights in files under 4 MB each so no
    single tracked file is large."""
    shutil.rmtree(FP32_DIR, ignore_errors=True)
    os.makedirs(FP32_DIR)
    model = onnx.load(src)
    chunk, size = 0, 0
    for t in sorted(model.graph.initializer, key=lambda t: t.name):
        n = len(t.raw_data) if t.raw_data else 0
        if n < 1024:
            continue
        if size + n > 4_000_000:
            chunk, size = chunk + 1, 0
        external_data_helper.set_external_data(t, f"weights-{chunk}.bin")
        size += n
    onnx.save_model(model, os.path.join(FP32_DIR, "dermal-fp32.onnx"))


def tier_thresholds():
    with open(os.path.join(common.ROOT, "training", "shift", "operating-point.json")) as f:
        op = json.load(f)
    return {k: op[k] for k in ("urgent_melanoma", "urgent_malignant", "review_malignant", "chosen")}


def main():
    torch.set_num_threads(2)
    split = common.read_split()
    net = load_trained().to(memory_format=torch.channels_last)
    out = {}
    for part in ("val", "test"):
        rows = [r for r in split if r[3] == part]
        imgs = common.load_images([r[0] for r in rows])
        logits, emb = forward_all(net, imgs)
        y = np.array([common.LABELS.index(r[2]) for r in rows])
        np.savez(os.path.join(common.BUILD, f"fp32_{part}.npz"), logits=logits, y=y, ids=np.array([r[0] for r in rows]))
        out[part] = (rows, imgs, logits, emb, y)
        print(f"fp32 {part}: {len(rows)} images", flush=True)

    # Out-of-distribution: how much of the photo's embedding lies outside the main subspace of
    # training embeddings (PCA residual share). Tried first: cosine similarity to the nearest
    # class centroid, which let a cat photo through; the residual flags all the non-skin photos.
    train = [r for r in split if r[3] == "train"]
    rng = np.random.RandomState(common.SEED)
    pick = [train[i] for i in rng.choice(len(train), 2500, replace=False)]
    _, temb = forward_all(net, common.load_images([r[0] for r in pick]))
    mean = temb.mean(axis=0)
    _, _, vt = np.linalg.svd(temb - mean, full_matrices=False)
    comps = vt[:OOD_COMPONENTS]
    val_res = ood_residual(out["val"][3], mean, comps)
    ood_threshold = float(np.percentile(val_res, 99.5))
    ood_path = os.path.join(common.BUILD, "ood-pca.bin")
    np.concatenate([mean[None, :], comps]).astype("<f4").tofile(ood_path)
    print(f"ood: val residual p50={np.median(val_res):.3f} p99.5={ood_threshold:.3f}")

    # Quality thresholds: well outside what validation photos (all usable) show.
    stats = np.array([quality_stats(im.numpy()) for im in out["val"][1]])
    sharp, bright, clipped = stats[:, 0], stats[:, 1], stats[:, 2]
    quality = {
        "min_short_side": 120,
        "min_sharpness": float(np.percentile(sharp, 0.5) * 0.5),
        "min_brightness": float(min(np.percentile(bright, 0.5), 60.0) * 0.8),
        "max_brightness": float(max(np.percentile(bright, 99.5), 200.0) * 1.05),
        "max_clipped_share": float(max(np.percentile(clipped, 99.5), 0.2)),
    }
    print("quality on val: sharpness p0.5/p50", np.percentile(sharp, [0.5, 50]), "brightness p0.5/p99.5",
          np.percentile(bright, [0.5, 99.5]), "clipped p99.5", np.percentile(clipped, 99.5))
    # The bluest photo the model learned from or was validated on (every photo of train and
    # val, with or without a diagnosis): a bluer one is not a skin photo. Model 4's embedding
    # check let a launch photo against a dusk sky through (inference/quality.go).
    seen = [r["image_id"] for r in common.read_split_rows() if r["split"] in ("train", "val")]
    quality["max_blue_share"] = max(blue_share(common.load_image(i)) for i in seen)
    print("quality thresholds", quality)

    # Fixtures for the Go parity tests.
    shutil.rmtree(FIXTURES, ignore_errors=True)
    os.makedirs(FIXTURES)
    rows, imgs, logits, _, y = out["test"]
    int8 = onnx.load(os.path.join(common.BUILD, "dermal-int8.onnx"))
    a_int8 = [n.input[0] for n in int8.graph.node if n.op_type == "ReduceMean"][0]
    fixtures = []
    ham = common.read_ham_sources()
    for label in FIXTURE_CLASSES:
        # HAM10000 photos only: the fixtures are committed, with HAM10000's attribution.
        i = next(j for j, r in enumerate(rows) if r[2] == label and r[0] in ham)
        image_id = rows[i][0]
        # PNG of the decoded pixels: JPEG decoders differ in chroma upsampling (libjpeg's
        # "fancy" filter against Go's nearest sample), which would hide preprocessing errors
        # behind decoder noise. Lossless pixels make the parity test exact.
        Image.fromarray(imgs[i].numpy()).save(os.path.join(FIXTURES, image_id + ".png"), optimize=True)
        x = common.to_input(imgs[i : i + 1])
        with torch.no_grad():
            a = net.feature_map(x)
        q = onnxeval.run(int8, {"image": x}, keep=[a_int8])
        w, b = net.fc.weight.detach(), net.fc.bias.detach()
        fixtures.append({
            "file": image_id + ".png",
            "dx": label,
            "fp32_logits": logits[i].tolist(),
            "int8_reference_logits": q["logits"][0].tolist(),
            "fp32_gradcam": autograd_gradcam(a, w, b).tolist(),
            "int8_reference_gradcam": autograd_gradcam(q[a_int8], w, b).tolist(),
        })
    with open(os.path.join(FIXTURES, "fixtures.json"), "w") as f:
        json.dump({"note": "fp32_* from torch; int8_reference_* from a fake-quantized run of the int8 graph "
                           "(training/onnxeval.py); Grad-CAM by torch.autograd, ReLU, divided by the maximum",
                   "fixtures": fixtures}, f)
    save_fp32_test_model(os.path.join(common.BUILD, "dermal-fp32.onnx"))

    int8_path = os.path.join(common.BUILD, "dermal-int8.onnx")
    sha = hashlib.sha256(open(int8_path, "rb").read()).hexdigest()
    card = {
        # Model 4 trains on more than HAM10000: a name of its own (records name the model that
        # assessed them by name and version).
        "name": "dermal-mobilenetv2-ham10000" if common.DATA == "ham10000" else "dermal-mobilenetv2-isic",
        "file": "dermal-int8.onnx",
        "sha256": sha,
        "labels": common.LABELS,
        "malignant": common.MALIGNANT,
        "input": {
            "name": "image", "width": common.INPUT_W, "height": common.INPUT_H, "channels": "RGB", "layout": "NCHW",
            "resize": "EXIF-upright; portrait turned 90 degrees; centre crop to 4:3; Lanczos to 200x150 "
                      "(HAM10000 images are 200x150 already and are not resampled)"
                      + ("" if (common.NET_W, common.NET_H) == (common.INPUT_W, common.INPUT_H) else
                         f"; inside the graph: bilinear (half-pixel, no antialiasing) to {common.NET_W}x{common.NET_H}"),
            "mean": common.MEAN, "std": common.STD,
            **({"colour_constancy": common.COLOUR_CONSTANCY} if common.COLOUR_CONSTANCY else {}),
        },
        "outputs": {"logits": "logits", "cam": "cam", "embedding": "embedding"},
        "temperature": 1.0,
        # Test-time views, averaged by the app (inference/assess.go): dermoscopy has no up or
        # down. Chosen on validation: balanced accuracy .721 (1 view) -> .728 (4 views).
        "test_time_augmentation": ["identity", "flip_h", "flip_v", "flip_hv"],
        "ood": {"method": "share of the centred embedding outside the top principal components of "
                          "training embeddings; above the threshold (99.5th percentile on validation) "
                          "the photo is probably not a dermoscopic skin-lesion photo",
                "file": "ood-pca.bin", "sha256": hashlib.sha256(open(ood_path, "rb").read()).hexdigest(),
                "dim": int(mean.shape[0]), "components": OOD_COMPONENTS, "threshold": ood_threshold},
        "quality": quality,
        # The risk tiers' thresholds: chosen on sources the training never saw (make model-shift,
        # training/tiers.py --choose), since a clinic's dermatoscope always is one.
        "tiers": tier_thresholds(),
    }
    with open(os.path.join(common.BUILD, "card-draft.json"), "w") as f:
        json.dump(card, f)
    # The same card for the fp32 graph, so the Go side can score it too: int8 against fp32
    # through the same decoder and preprocessing isolates what quantization costs.
    fp32_path = os.path.join(common.BUILD, "dermal-fp32.onnx")
    # A name of its own: the app refuses a card that poses as the shipped model (the draft is
    # in internal/assets/ by then) without being it byte for byte (internal/assets).
    card_fp32 = dict(card, name=card["name"] + "-fp32", file="dermal-fp32.onnx",
                     sha256=hashlib.sha256(open(fp32_path, "rb").read()).hexdigest())
    with open(os.path.join(common.BUILD, "card-fp32.json"), "w") as f:
        json.dump(card_fp32, f)
    print("wrote draft card and fixtures")


if __name__ == "__main__":
    main()
