"""Shared pieces of the Dermal training pipeline: labels, the split, image loading and the network.

Everything that must agree between training, export, quantization and the model card lives here,
so that a change is made once.
"""
import csv
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

LABELS = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
MALIGNANT = ["akiec", "bcc", "mel"]
SEED = 20261126

# The model takes a 4:3 landscape photo at HAM10000's own size (200x150): for a HAM10000 image
# preprocessing is only "to float, normalize", so Go and torch agree exactly. Other photos are
# centre-cropped to 4:3 and resized to 200x150 first. NET_W x NET_H is the resolution the
# network runs at; when it differs from the input the graph resizes (bilinear) itself. Model 1.x
# ran at 160x120 because 200x150 trained at a fifth of the speed; with channels-last tensors
# (train.py) PyTorch's CPU convolutions are ~1.8x faster and the native size fits the time limit.
INPUT_W, INPUT_H = 200, 150
NET_W, NET_H = 200, 150
# The illuminant correction applied to every picture before normalizing, in training and in
# the app (internal/inference/colour.go; the card names it): "" for none (models 1.x, 2.x: the
# default until a recipe with it ships) or "shades_of_gray_p6" (recipe 3a, training/shift.py).
COLOUR_CONSTANCY = os.environ.get("DERMAL_COLOUR_CONSTANCY", "")
SOG_POWER = 6
MIN_GAIN, MAX_GAIN = 0.25, 4.0  # the same bounds as colour.go, and why
# Which decoder made the training pixels: "go" (the app's own, tools/hamdecode: what the app
# sees; recipe 3a) or "pil" (models 1.x and 2.x, whose chroma upsampling differs from the app's;
# the default until a recipe with "go" ships).
# Model 4 (recipe 4, training/shift.py RECIPES) trains on the app's own decoding ("go"): the new
# folders' photos are not 200x150, and the app's intake (portrait turned, centre crop to 4:3,
# Lanczos) is what serving does to them. Models 1-3 used PIL's (recipes up to 3g set it).
DECODER = os.environ.get("DERMAL_DECODER", "go")
# Which photos a recipe trains and is scored on: "all" (model 4: HAM10000, the ISIC Archive
# folder and the acral folder) or "ham10000" (models 1-3: training/split.csv's HAM10000 rows).
DATA = os.environ.get("DERMAL_DATA", "all")
MEAN = [0.485, 0.456, 0.406]  # ImageNet statistics, as the pretrained MobileNetV2 expects
STD = [0.229, 0.224, 0.225]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("DERMAL_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
HAM = os.path.join(SHARED, "data", "ham10000")
ARCHIVE = os.path.join(SHARED, "data", "isic_archive")
ACRAL = os.path.join(SHARED, "data", "isic_acral")
IMAGE_FOLDERS = [os.path.join(d, "images") for d in (HAM, ARCHIVE, ACRAL)]
# Every training photo under one folder of links (`make images`), for `dermal eval`, which reads
# one folder.
ALL_IMAGES = os.path.join(ROOT, "build", "images")
HAM_SOURCES = ("vidir_molemax", "vidir_modern", "rosendahl", "vienna_dias")
# Acquisition source -> institution, the unit a leave-one-institution-out run holds out whole
# (training/shift.py). HAM10000's three Vienna sources are one institution with three
# dermatoscopes and eras; Rosendahl's practice (Queensland) is another.
INSTITUTION = {"vidir_molemax": "vienna", "vidir_modern": "vienna", "vienna_dias": "vienna",
               "rosendahl": "rosendahl", "msk4": "msk", "msk": "msk", "isic_archive_other": "isic_other",
               "ids": "ids", "bcn": "bcn", "bcn_serial": "bcn", "hiba": "hiba", "uq": "uq"}
# A photo whose diagnosis is known only as benign or malignant (the acral folder's 531 lesions
# "Benign" by serial imaging or excision without a subtype) has this as its label and trains
# with a set-valued loss (train.py): the probability of all benign classes together.
BENIGN = [c for c in LABELS if c not in MALIGNANT]
LABEL_SETS = {"benign": BENIGN, "malignant": MALIGNANT}
PRETRAINED = os.path.join(SHARED, "pretrained", "mobilenetv2-12-int8.onnx")
# DERMAL_SPLIT names another split (training/shift.py: one acquisition source held out).
SPLIT_CSV = os.environ.get("DERMAL_SPLIT", os.path.join(ROOT, "training", "split.csv"))
SOURCES_CSV = os.path.join(HAM, "sources.csv")
BUILD = os.environ.get("DERMAL_BUILD", os.path.join(ROOT, "build", "model"))


def seed_everything(seed=SEED):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def read_metadata():
    with open(os.path.join(HAM, "metadata.csv"), newline="") as f:
        return list(csv.DictReader(f))


def make_split(rows, fractions=(0.70, 0.15, 0.15), seed=SEED):
    """Split by lesion, stratified by diagnosis: every image of a lesion lands in one split.

    Each lesion has one diagnosis in HAM10000, so stratifying lesions per class keeps the class
    mix of the three splits close while keeping lesions whole.
    """
    lesions = {}
    for r in rows:
        dx = lesions.setdefault(r["lesion_id"], r["dx"])
        if dx != r["dx"]:
            raise ValueError(f"lesion {r['lesion_id']} has two diagnoses: {dx}, {r['dx']}")
    rng = random.Random(seed)
    assign = {}
    for label in LABELS:
        ids = sorted(l for l, dx in lesions.items() if dx == label)
        rng.shuffle(ids)
        n_train = round(len(ids) * fractions[0])
        n_val = round(len(ids) * fractions[1])
        for i, l in enumerate(ids):
            assign[l] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return [(r["image_id"], r["lesion_id"], r["dx"], assign[r["lesion_id"]]) for r in rows]


def read_isic_rows():
    """The two ISIC folders' photos as split rows (without `split`): the group kept whole is the
    patient where the archive gives one, else the lesion, else the photo (the IDS and the
    archive's older contributors give neither: several photos of one lesion may be among them)."""
    rows = []
    for d, acral in ((ARCHIVE, "0"), (ACRAL, "1")):
        with open(os.path.join(d, "labels.csv"), newline="") as f:
            for r in csv.DictReader(f):
                dx = r["dx"]
                label = dx or r["benign_malignant"].lower()
                if label not in LABELS and label not in LABEL_SETS:
                    raise ValueError(f"{r['image_id']}: neither a diagnosis nor benign/malignant")
                group = r.get("patient_id") or r.get("lesion_id") or r["image_id"]
                rows.append({"image_id": r["image_id"], "lesion_id": group, "dx": dx, "source": r["source"],
                             "label": label, "acral": acral})
    return rows


def split_groups(rows, fractions=(0.70, 0.15, 0.15), seed=SEED):
    """Assigns each group (lesion_id) to train/val/test, stratified by source and the group's
    gravest label (mel, then other malignant, then the rest), so that every source and every
    class is in all three."""
    gravity = {"mel": 0, "akiec": 1, "bcc": 1, "malignant": 1}
    groups = {}
    for r in rows:
        g = groups.setdefault(r["lesion_id"], {"source": r["source"], "label": r["label"]})
        if gravity.get(r["label"], 2) < gravity.get(g["label"], 2):
            g["label"] = r["label"]
    rng = random.Random(seed)
    assign = {}
    for key in sorted({(g["source"], g["label"]) for g in groups.values()}):
        ids = sorted(l for l, g in groups.items() if (g["source"], g["label"]) == key)
        rng.shuffle(ids)
        n_train = round(len(ids) * fractions[0])
        n_val = round(len(ids) * fractions[1])
        for i, l in enumerate(ids):
            assign[l] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return [dict(r, split=assign[r["lesion_id"]]) for r in rows]


SPLIT_COLUMNS = ["image_id", "lesion_id", "dx", "split", "source", "label", "acral"]


def write_split(rows):
    with open(SPLIT_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, SPLIT_COLUMNS)
        w.writeheader()
        for r in sorted(rows, key=lambda r: r["image_id"]):
            w.writerow({k: r[k] for k in SPLIT_COLUMNS})


def read_split_rows():
    """Every row of the split this recipe uses (DATA): dicts with image_id, lesion_id (the group
    kept whole: lesion, or patient where the archive gives one), dx ("" when only `label` is
    known), split, source, label (dx, or a key of LABEL_SETS) and acral ("1" or "0")."""
    with open(SPLIT_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:  # a split written before model 4 has the first four columns only
        r.setdefault("source", "")
        r.setdefault("label", r["dx"])
        r.setdefault("acral", "0")
    if DATA == "ham10000":
        source_of = read_ham_sources()
        rows = [r for r in rows if r["image_id"] in source_of]
    elif DATA != "all":
        raise ValueError(f"DERMAL_DATA {DATA!r} is not all or ham10000")
    return rows


def write_eval_labels(path):
    """The labels `dermal eval` scores for this recipe (DATA): image_id, dx, split of the photos
    with one of the seven diagnoses (make model-package)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", "dx", "split"])
        for r in read_split_rows():
            if r["dx"]:
                w.writerow([r["image_id"], r["dx"], r["split"]])


def read_split():
    """(image_id, lesion_id, dx, split) of the photos with one of the seven diagnoses."""
    return [(r["image_id"], r["lesion_id"], r["dx"], r["split"]) for r in read_split_rows() if r["dx"]]


def read_ham_sources():
    with open(SOURCES_CSV, newline="") as f:
        return {r["image_id"]: r["source"] for r in csv.DictReader(f)}


def read_sources():
    """image_id -> acquisition source: HAM10000's four (vidir_molemax, vidir_modern, rosendahl,
    vienna_dias) and the ISIC folders' (msk4, isic_archive_other, ids, bcn, bcn_serial, msk,
    hiba, uq)."""
    out = read_ham_sources()
    for d in (ARCHIVE, ACRAL):
        path = os.path.join(d, "labels.csv")
        if os.path.exists(path):
            with open(path, newline="") as f:
                out.update({r["image_id"]: r["source"] for r in csv.DictReader(f)})
    return out


GO_DECODED = os.path.join(ROOT, "build", "decoded", "all-go.u8")
_go_cache = None


def go_decoded():
    """Every training photo as the app decodes it: tools/hamdecode ran the app's own intake
    (image/jpeg, EXIF, canonical 200x150) over every image once (`make decoded`, ~20 s)."""
    global _go_cache
    if _go_cache is None:
        if not os.path.exists(GO_DECODED + ".ids"):
            raise SystemExit(f"{GO_DECODED} is missing: run `make decoded` (or set DERMAL_DECODER=pil)")
        with open(GO_DECODED + ".ids") as f:
            ids = f.read().split()
        arr = np.memmap(GO_DECODED, dtype=np.uint8, mode="r", shape=(len(ids), INPUT_H, INPUT_W, 3))
        _go_cache = ({i: k for k, i in enumerate(ids)}, arr)
    return _go_cache


def load_image(image_id):
    """Returns the photo as HWC uint8 at INPUT_H x INPUT_W (every HAM10000 image already is)."""
    if DECODER == "go":
        index, arr = go_decoded()
        return np.array(arr[index[image_id]])
    from PIL import Image

    path = os.path.join(HAM, "images", image_id + ".jpg")
    if not os.path.exists(path):
        raise ValueError(f"{image_id} is not a HAM10000 photo: the PIL decoder reads HAM10000 only (DERMAL_DECODER=go)")
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (INPUT_W, INPUT_H):
            raise ValueError(f"{image_id} is {im.size}, expected {(INPUT_W, INPUT_H)}")
        return np.asarray(im, dtype=np.uint8)


def load_images(ids):
    return torch.from_numpy(np.stack([load_image(i) for i in ids]))


_POW = torch.from_numpy((np.arange(256, dtype=np.float64) / 255) ** SOG_POWER)


def sog_gains(batch_uint8_hwc):
    """Shades of Gray gains (N, 3) float32, exactly as internal/inference/colour.go computes
    them: e_c = (mean (u8/255)^p)^(1/p) in float64, gain_c = |e|/sqrt(3)/e_c within
    [MIN_GAIN, MAX_GAIN], rounded to float32 once."""
    pw = _POW[batch_uint8_hwc.long()]  # N,H,W,3 float64
    e = pw.mean(dim=(1, 2)) ** (1.0 / SOG_POWER)
    grey = torch.sqrt((e * e).sum(1, keepdim=True) / 3)
    g = torch.where(e > 0, (grey / e.clamp(min=1e-300)).clamp(MIN_GAIN, MAX_GAIN), torch.full_like(e, MAX_GAIN))
    return g.float()


def to_input(batch_uint8_hwc, colour_constancy=None):
    """uint8 NHWC -> normalized float NCHW, exactly as inference/ does it: u8/255, times the
    colour-constancy gain capped at 1, then (x - mean) / std, in float32."""
    method = COLOUR_CONSTANCY if colour_constancy is None else colour_constancy
    x = batch_uint8_hwc.permute(0, 3, 1, 2).float() / 255.0
    if method == "shades_of_gray_p6":
        x = (x * sog_gains(batch_uint8_hwc)[:, :, None, None]).clamp(max=1.0)
    elif method:
        raise ValueError(f"colour constancy {method!r} is not known")
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def resize_to_net(x):
    """The in-graph resize: bilinear, half-pixel centres, no antialiasing (ONNX Resize linear).

    A constant scale factor keeps the exported Resize free of shape arithmetic.
    """
    if x.shape[2:] != (INPUT_H, INPUT_W):
        raise ValueError(f"input is {tuple(x.shape[2:])}, expected {(INPUT_H, INPUT_W)}")
    if (NET_H, NET_W) == (INPUT_H, INPUT_W):
        return x
    return F.interpolate(x, scale_factor=NET_W / INPUT_W, mode="bilinear", align_corners=False,
                         recompute_scale_factor=False)


class DermalNet(nn.Module):
    """MobileNetV2 with a 7-class global-average-pool + linear head.

    forward returns (logits, cam, embedding): cam[c] = sum_k W[c,k] * A_k over the last feature
    map A, which is Grad-CAM for class c up to a positive factor (1/(h*w)) before the ReLU, so
    the app gets an exact Grad-CAM without running a backward pass.
    """

    def __init__(self):
        super().__init__()
        base = torchvision.models.mobilenet_v2(num_classes=len(LABELS))
        self.features = base.features
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1280, len(LABELS))

    def feature_map(self, x):
        return self.features(resize_to_net(x))

    def head(self, a):
        emb = a.mean(dim=(2, 3))
        return self.fc(self.dropout(emb)), emb

    def forward(self, x):
        a = self.feature_map(x)
        logits, emb = self.head(a)
        cam = F.conv2d(a, self.fc.weight[:, :, None, None])
        return logits, cam, emb


def load_pretrained(net):
    """Dequantizes the ONNX Model Zoo int8 MobileNetV2 into net.features.

    The zoo model has batch norm folded into each convolution, so each torch (conv, bn) pair gets
    the folded weight and a batch norm that is the identity plus the folded bias.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(PRETRAINED)
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    qconvs = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    pairs = []
    for m in net.features.modules():
        if isinstance(m, nn.Conv2d):
            pairs.append([m, None])
        elif isinstance(m, nn.BatchNorm2d):
            pairs[-1][1] = m
    if len(pairs) != len(qconvs):
        raise ValueError(f"{len(pairs)} torch convs but {len(qconvs)} in {PRETRAINED}")
    for (conv, bn), node in zip(pairs, qconvs):
        _, _, _, wq, ws, wz, _, _, bq = node.input
        w = (init[wq].astype(np.float32) - init[wz].astype(np.float32).reshape(-1, 1, 1, 1)) * init[ws].reshape(-1, 1, 1, 1)
        x_scale = init[node.input[1]]
        b = init[bq].astype(np.float32) * x_scale * init[ws]
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"shape {w.shape} != {tuple(conv.weight.shape)}")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
    return net


@torch.no_grad()
def reparametrize_batchnorm(net, images, batch=64):
    """Gives each batch norm this domain's statistics without changing what the network computes.

    After load_pretrained every batch norm is identity + bias. Measure the mean and variance of
    each batch norm's input on dermoscopy images and set running stats (mu, var), gamma =
    sqrt(var + eps) and beta = mu + bias: in eval mode the output is unchanged, and in train mode
    the batch statistics now normalize to the same values, so fine-tuning starts from the
    pretrained function instead of a perturbed one.
    """
    bns = [m for m in net.features.modules() if isinstance(m, nn.BatchNorm2d)]
    sums = {id(b): [0.0, 0.0, 0] for b in bns}

    def hook(mod, inp, out):
        x = inp[0].double()
        s = sums[id(mod)]
        s[0] = s[0] + x.sum(dim=(0, 2, 3))
        s[1] = s[1] + (x * x).sum(dim=(0, 2, 3))
        s[2] += x.shape[0] * x.shape[2] * x.shape[3]

    handles = [b.register_forward_hook(hook) for b in bns]
    net.eval()
    for i in range(0, len(images), batch):
        net.feature_map(to_input(images[i : i + batch]))
    for h in handles:
        h.remove()
    for b in bns:
        s0, s1, n = sums[id(b)]
        mu = (s0 / n).float()
        var = (s1 / n).float() - mu * mu
        var = var.clamp(min=1e-6)
        bias = b.bias.clone()
        b.running_mean.copy_(mu)
        b.running_var.copy_(var)
        b.weight.copy_(torch.sqrt(var + b.eps))
        b.bias.copy_(mu + bias)
