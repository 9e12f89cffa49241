"""Fine-tunes the pretrained MobileNetV2 on the HAM10000 training split.

Writes build/model/weights.pt (the last epoch: see training/README.md for why not the
best-scoring one) and build/model/train_log.json. Run by `make model`.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import common
from metrics import auc, balanced_accuracy, softmax


def device_augment(x, gen, strength):
    """What another dermatoscope, phone or room does to a photo, on float NCHW in [0, 1]:
    white balance, gamma, vignetting and the dark round rim of a dermatoscope's lens, defocus
    blur, down- and up-scaling, sensor noise and JPEG recompression. Each is drawn per photo
    with probability `strength`; the magnitudes are what the four HAM10000 sources and phone
    photos differ by (training/README.md, "device augmentation")."""
    n, _, h, w = x.shape

    def pick():
        return torch.rand(n, generator=gen) < strength

    def u(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(n, *shape, generator=gen)

    # white balance: a per-channel cast of up to ±30% (Shades of Gray must undo it)
    m = pick()
    gain = torch.where(m[:, None], u(0.7, 1.3, 3), torch.ones(n, 3))
    x = x * gain[:, :, None, None]
    # gamma 0.7 .. 1.4 (a camera's tone curve)
    m = pick()
    gamma = torch.where(m, u(0.7, 1.4), torch.ones(n))
    x = x.clamp(1e-6, 1) ** gamma[:, None, None, None]
    # vignetting, and for some photos the dark round rim of a contact dermatoscope
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-w / h, w / h, w), indexing="ij")
    cx, cy = u(-0.15, 0.15), u(-0.15, 0.15)
    r = torch.sqrt((xx[None] - cx[:, None, None]) ** 2 + (yy[None] - cy[:, None, None]) ** 2)  # N,H,W
    m = pick()
    fall = torch.where(m, u(0.1, 0.5), torch.zeros(n))
    mask = 1 - fall[:, None, None] * (r / r.amax(dim=(1, 2), keepdim=True)) ** 2
    rim = pick() & (torch.rand(n, generator=gen) < 0.5)
    radius = u(0.9, 1.5)
    edge = torch.sigmoid((r - radius[:, None, None]) / 0.03)  # 1 outside the lens
    dark = u(0.0, 0.12)
    mask = torch.where(rim[:, None, None], mask * (1 - edge) + dark[:, None, None] * edge, mask)
    x = x * mask[:, None]
    # defocus: a Gaussian blur, sigma 0.5 .. 1.5 px
    m = pick()
    if m.any():
        sigma = float(u(0.5, 1.5)[0])
        k = torch.arange(-3, 4, dtype=torch.float32)
        k = torch.exp(-k * k / (2 * sigma * sigma))
        k = (k / k.sum()).view(1, 1, 1, 7).repeat(3, 1, 1, 1)
        blurred = F.conv2d(F.pad(x[m], (3, 3, 0, 0), mode="reflect"), k, groups=3)
        blurred = F.conv2d(F.pad(blurred, (0, 0, 3, 3), mode="reflect"), k.transpose(2, 3), groups=3)
        x = x.clone()
        x[m] = blurred
    # down- and up-scaling: a lower-resolution camera, or a crop of a phone photo
    m = pick()
    if m.any():
        f = float(u(0.35, 0.8)[0])
        small = F.interpolate(x[m], scale_factor=f, mode="bilinear", align_corners=False, antialias=True)
        x = x.clone()
        x[m] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    # sensor noise, sigma 1 .. 4% of full scale
    m = pick()
    sd = torch.where(m, u(0.01, 0.04), torch.zeros(n))
    x = x + torch.randn(x.shape, generator=gen) * sd[:, None, None, None]
    x = x.clamp(0, 1)
    u8 = (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()  # N,H,W,3
    # JPEG recompression, quality 30 .. 90 (phones, messaging apps, old PACS)
    m = pick()
    if m.any():
        import io

        from PIL import Image

        q = u(30, 90).round().int()
        for i in torch.nonzero(m).flatten().tolist():
            buf = io.BytesIO()
            Image.fromarray(u8[i].numpy()).save(buf, "JPEG", quality=int(q[i]))
            buf.seek(0)
            with Image.open(buf) as im:
                u8[i] = torch.from_numpy(np.asarray(im.convert("RGB")).copy())
    return u8


def augment(batch_uint8, gen, device_strength=0.0):
    """Random flips, rotation, scale, shift and colour jitter on a uint8 NHWC batch; with
    device_strength > 0, device_augment's photometric and optical changes too. Returns the
    network's input, made from uint8 pixels by common.to_input exactly as the app makes it
    (colour constancy included), so training sees what serving sees.

    Dermoscopy has no up or down, so any rotation is fair; reflection padding avoids black
    corners the model could learn from. Colour jitter stands in for other cameras and lighting.
    """
    x = batch_uint8.permute(0, 3, 1, 2).float() / 255.0
    n = x.shape[0]
    dev = x.device
    angle = torch.rand(n, generator=gen) * 2 * math.pi
    scale = 1.0 / (0.85 + torch.rand(n, generator=gen) * 0.35)  # zoom 0.85x .. 1.2x
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=gen) - 0.5) * 0.2
    aspect = common.INPUT_H / common.INPUT_W
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    # affine_grid works in normalized coordinates; correct for the 4:3 aspect so rotations are rigid.
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin * aspect, shift[:, 0]], 1),
            torch.stack([sin * flip / aspect, cos, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # colour: brightness, contrast, saturation, and a small per-channel gain (white balance)
    b = (1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.4).to(dev)
    c = (1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.4).to(dev)
    s = (1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.4).to(dev)
    g = (1 + (torch.rand(n, 3, 1, 1, generator=gen) - 0.5) * 0.1).to(dev)
    x = x * b * g
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - m) * c + m
    gray = x.mean(dim=1, keepdim=True)
    x = (x - gray) * s + gray
    x = x.clamp(0, 1)
    if device_strength == 0 and not common.COLOUR_CONSTANCY:
        # the 2.0 recipe exactly: normalized from the float picture, not re-quantized
        mean = torch.tensor(common.MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(common.STD, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std
    if device_strength > 0:
        u8 = device_augment(x.cpu(), gen, device_strength)
    else:
        u8 = (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu()
    return common.to_input(u8).to(dev)


@torch.no_grad()
def predict(net, images, device, batch=128):
    net.eval()
    out = []
    for i in range(0, len(images), batch):
        x = common.to_input(images[i : i + batch]).to(device).contiguous(memory_format=torch.channels_last)
        out.append(net(x)[0].float().cpu())
    return torch.cat(out)


def score(logits, y, adjustment):
    """Validation numbers of one epoch: balanced accuracy as the network decides and after the
    balanced-prior logit adjustment (the app adjusts), plus the melanoma-vs-rest AUC."""
    adjusted = logits + adjustment
    p_mel = softmax(logits)[:, common.LABELS.index("mel")]
    k = len(common.LABELS)
    return {"val_bacc": balanced_accuracy(y, logits.argmax(1), k),
            "val_bacc_adjusted": balanced_accuracy(y, adjusted.argmax(1), k),
            "val_acc": float((logits.argmax(1) == y).mean()),
            "val_mel_auc": auc(p_mel, y == common.LABELS.index("mel"))}


def source_balanced_weights(class_ids, source_ids, class_mass, cap):
    """Per-image draw weights that keep each class's share of the draws (`class_mass`) but split
    it among the acquisition sources holding that class in proportion to the sources' sizes, so
    that a source's look says less about the diagnosis (vidir_molemax is 94% nevi; rosendahl
    holds most akiec). A source with only a few photos of a class would have each of them drawn
    many times over; no photo is drawn more than `cap` times its class's mean (the class's mass
    is refilled among the others)."""
    class_ids, source_ids = np.asarray(class_ids), np.asarray(source_ids)
    source_size = np.bincount(source_ids).astype(float)
    w = np.zeros(len(class_ids))
    for c, mass in enumerate(class_mass):
        members = class_ids == c
        if not members.any():
            continue
        held = np.unique(source_ids[members])
        share = source_size[held] / source_size[held].sum()
        for s, sh in zip(held, share):
            cell = members & (source_ids == s)
            w[cell] = mass * sh / cell.sum()
        mean = mass / members.sum()
        for _ in range(50):  # water-filling: cap, then give the class its mass back
            w[members] = np.minimum(w[members], cap * mean)
            w[members] *= mass / w[members].sum()
            if w[members].max() <= cap * mean * (1 + 1e-9):
                break
    return torch.tensor(w)


# MobileNetV2 blocks after which MixStyle mixes feature statistics: the ends of the 16-, 24- and
# 32-channel stages (100x75, 50x38 and 25x19 at 200x150), the early layers where a photo's
# "style" (light, colour, sensor) lives; the later ones carry the lesion's content.
MIXSTYLE_AFTER = (1, 3, 6)


def mixstyle(x, rng, p, alpha=0.1, eps=1e-6):
    """MixStyle (Zhou et al., ICLR 2021, "Domain generalization with MixStyle"): with
    probability p, each photo's per-channel feature mean and standard deviation are replaced by
    a random mix (weight ~ Beta(alpha, alpha)) of its own and another photo's in the batch, so
    the network sees the lesion under styles between the sources it was trained on. Training
    only: the exported network has no such layer. `rng` is a numpy Generator, so the recipe's
    randomness does not shift torch's stream."""
    if p <= 0 or rng.random() >= p:
        return x
    n = x.shape[0]
    mu = x.mean(dim=(2, 3), keepdim=True).detach()
    sig = (x.var(dim=(2, 3), keepdim=True) + eps).sqrt().detach()
    lam = torch.tensor(rng.beta(alpha, alpha, size=(n, 1, 1, 1)), dtype=x.dtype, device=x.device)
    perm = torch.from_numpy(rng.permutation(n)).to(x.device)
    mu_mix = lam * mu + (1 - lam) * mu[perm]
    sig_mix = lam * sig + (1 - lam) * sig[perm]
    return (x - mu) / sig * sig_mix + mu_mix


def train_features(net, x, first_block, rng, p):
    """net.features from block `first_block` on, with MixStyle after MIXSTYLE_AFTER (p > 0)."""
    for i in range(first_block, len(net.features)):
        x = net.features[i](x)
        if i in MIXSTYLE_AFTER:
            x = mixstyle(x, rng, p)
    return x


def epoch_batches(xtr, ytr, weights, gen, args, device, steps):
    """One epoch's augmented training batches, drawn with the sampling weights: what the linear
    probe and fine-tuning both train on (the same random stream, in the same order, as before
    the probe existed)."""
    idx = torch.multinomial(weights, steps * args.batch, replacement=True, generator=gen)
    for s in range(steps):
        b = idx[s * args.batch : (s + 1) * args.batch]
        x = augment(xtr[b].to(device), gen, args.device_augment)
        yield common.resize_to_net(x).contiguous(memory_format=torch.channels_last), ytr[b].to(device)


def linear_probe(net, xtr, ytr, weights, gen, args, device, steps_per_epoch, validate):
    """The LP of LP-FT (Kumar et al., ICLR 2022, "Fine-tuning can distort pretrained features and
    underperform out-of-distribution"): the head alone, trained on the frozen backbone (batch norm
    in eval mode, so its statistics stay those of reparametrize_batchnorm) with the same draws,
    augmentation and loss as fine-tuning, at a constant learning rate. A random head makes the
    first fine-tuning steps reshape the features to fit it, most on what the training sources
    share; a head that already fits leaves less to reshape. Returns the log entries."""
    opt = torch.optim.AdamW(net.fc.parameters(), lr=args.lr, weight_decay=1e-4)
    entries = []
    for epoch in range(args.probe_epochs):
        net.eval()
        net.dropout.train()
        t0, running = time.time(), 0.0
        for x, y in epoch_batches(xtr, ytr, weights, gen, args, device, steps_per_epoch):
            with torch.no_grad():
                a = net.features(x)
            logits, _ = net.head(a)
            loss = loss_of(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item()
        entry = {"probe_epoch": epoch + 1, "loss": running / steps_per_epoch}
        if epoch + 1 == args.probe_epochs:
            entry.update(validate())
        entry["seconds"] = time.time() - t0
        entries.append(entry)
        print(json.dumps(entry), flush=True)
    # The backbone's gradients were never taken, so AdamW's state for it starts fresh in
    # fine-tuning; the head's optimizer state is dropped with this one.
    return entries


# Targets: 0..6 the seven classes; 7 + k the k-th of common.LABEL_SETS (a photo known only as
# benign or malignant). ALLOWED[t] is the set of classes target t allows.
TARGETS = common.LABELS + list(common.LABEL_SETS)
ALLOWED = torch.tensor([[c == t for c in common.LABELS] if t in common.LABELS
                        else [c in common.LABEL_SETS[t] for c in common.LABELS] for t in TARGETS])


def loss_of(logits, y):
    """Cross-entropy with label smoothing 0.05 for a photo with a diagnosis; for a photo known
    only as benign (or malignant), the negative log of the probability of its set of classes:
    the network is told "one of these", never which one (no subtype is invented for it).
    A batch without such photos takes the plain cross-entropy, bit for bit the 3.x recipe's."""
    k = len(common.LABELS)
    if not (y >= k).any():
        return F.cross_entropy(logits, y, label_smoothing=0.05)
    ce = F.cross_entropy(logits, y.clamp(max=k - 1), label_smoothing=0.05, reduction="none")
    logp = F.log_softmax(logits, dim=1)
    set_nll = -logp.masked_fill(~ALLOWED.to(logits.device)[y], float("-inf")).logsumexp(dim=1)
    return torch.where(y >= k, set_nll, ce).mean()


def write_log(log, folder):
    with open(os.path.join(folder, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--frozen-blocks", type=int, default=0, help="leading MobileNetV2 feature blocks kept frozen")
    p.add_argument("--sampling-power", type=float, default=0.5,
                   help="draw each image with weight n_class^-power (0: natural mix, 1: balanced)")
    p.add_argument("--samples-per-epoch", type=int, default=6000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--body-lr-scale", type=float, default=0.5, help="backbone learning rate as a share of --lr")
    p.add_argument("--ema", type=float, default=0.0, help="evaluate and keep an exponential moving average of the weights with this decay (0: off)")
    p.add_argument("--score-from", type=int, default=0,
                   help="first epoch scored on validation, for the log and the card (0: the second half); "
                        "scoring takes 10-45 s an epoch on 2 cores")
    p.add_argument("--seed", type=int, default=common.SEED,
                   help="seed of the training's randomness (head init, sampling, augmentation, dropout); "
                        "the split has its own, fixed seed")
    p.add_argument("--device-augment", type=float, default=0.0,
                   help="probability of each device change (white balance, gamma, vignette/rim, blur, "
                        "rescaling, noise, JPEG); 0 (the shipped 2.0 recipe): the colour jitter only; "
                        "recipe 3a: 0.3 (training/shift.py RECIPES)")
    p.add_argument("--source-balance", type=float, default=3.0,
                   help="split each class's draws among the acquisition sources in proportion to their "
                        "sizes, no photo drawn more than this many times its class's mean (3, model 3's "
                        "recipe 3g; 0, the 2.0 recipe: off; training/shift.py RECIPES)")
    p.add_argument("--mixstyle", type=float, default=0.0,
                   help="probability of MixStyle after each of MIXSTYLE_AFTER's blocks (0, the 2.0 "
                        "recipe: off; recipe 3e: 0.5; training/shift.py RECIPES)")
    p.add_argument("--probe-epochs", type=int, default=3,
                   help="epochs of a linear probe before fine-tuning (LP-FT): the head alone is trained on the "
                        "frozen ImageNet backbone, so fine-tuning starts from a head that fits and distorts the "
                        "pretrained features less (3, model 3's recipe 3g; 0, the 2.0 recipe: off; training/shift.py RECIPES)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=common.BUILD, help="folder for weights.pt and train_log.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    common.seed_everything(args.seed)
    os.makedirs(args.out, exist_ok=True)

    split = common.read_split_rows()
    train = [r for r in split if r["split"] == "train"]
    val = [r for r in split if r["split"] == "val" and r["dx"]]
    t0 = time.time()
    xtr = common.load_images([r["image_id"] for r in train])
    xva = common.load_images([r["image_id"] for r in val])
    ytr = torch.tensor([TARGETS.index(r["label"]) for r in train])
    yva = np.array([common.LABELS.index(r["dx"]) for r in val])
    print(f"loaded {len(train)} train, {len(val)} val images in {time.time()-t0:.0f}s", flush=True)

    net = common.load_pretrained(common.DermalNet())
    gen = torch.Generator().manual_seed(args.seed)
    calib = xtr[torch.randperm(len(xtr), generator=gen)[:512]]
    common.reparametrize_batchnorm(net, calib)
    device = torch.device(args.device)
    # Channels-last tensors take PyTorch's oneDNN convolution path on the CPU: ~1.8x faster here.
    net.to(device).to(memory_format=torch.channels_last)

    frozen = net.features[: args.frozen_blocks]
    for prm in frozen.parameters():
        prm.requires_grad_(False)
    trainable = [prm for prm in net.parameters() if prm.requires_grad]
    head = list(net.fc.parameters())
    body = [prm for prm in trainable if all(prm is not h for h in head)]
    body_lr = args.lr * args.body_lr_scale
    opt = torch.optim.AdamW([{"params": body, "lr": body_lr}, {"params": head, "lr": args.lr}],
                            weight_decay=1e-4)
    steps_per_epoch = args.samples_per_epoch // args.batch
    total = steps_per_epoch * args.epochs
    # Sampling counts every target, the label sets included (a set is a cell of its own);
    # the prior the logit adjustment removes is the seven classes'.
    counts_all = torch.bincount(ytr, minlength=len(TARGETS)).float()
    counts = counts_all[: len(common.LABELS)]
    weights = counts_all[ytr] ** -args.sampling_power
    if args.source_balance:
        source_of = common.read_sources()
        names = sorted({source_of[r["image_id"]] for r in train})
        sid = [names.index(source_of[r["image_id"]]) for r in train]
        present = counts_all > 0
        mass = torch.where(present, counts_all.clamp(min=1) ** (1 - args.sampling_power), torch.zeros(1)).numpy()
        weights = source_balanced_weights(ytr.numpy(), sid, mass / mass.sum(), args.source_balance)
    # The sampler shows the network a class mix of n_c^(1-p); subtracting its log makes
    # decisions as if classes were balanced (card.py picks the final strength on validation).
    learned_prior = counts ** (1 - args.sampling_power)
    adjustment = -torch.log(learned_prior / learned_prior.sum()).numpy()

    # the folder relative to the repository, so the card names no machine's paths
    log = {"args": {**vars(args), "out": os.path.relpath(args.out, common.ROOT)}, "torch": torch.__version__,
           "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "epochs": []}
    if args.probe_epochs:
        log["probe"] = linear_probe(net, xtr, ytr, weights, gen, args, device, steps_per_epoch,
                                    lambda: score(predict(net, xva, device).numpy(), yva, adjustment))
        write_log(log, args.out)
    # Made after the probe, so the fine-tuning schedule is the 2.0 recipe's whether or not one ran.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[body_lr, args.lr], total_steps=total,
                                                pct_start=0.1)
    # The moving average smooths the last epochs' noise (a cheap stand-in for averaging
    # checkpoints); its batch-norm statistics are averaged with the weights.
    ema = {k: v.detach().clone() for k, v in net.state_dict().items()} if args.ema else None
    eval_net = common.DermalNet().to(device) if args.ema else net
    score_from = args.score_from or args.epochs // 2 + 1
    mix_rng = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        net.train()
        frozen.eval()  # frozen blocks keep their statistics
        t0 = time.time()
        running = 0.0
        for x, y in epoch_batches(xtr, ytr, weights, gen, args, device, steps_per_epoch):
            with torch.no_grad():
                f = frozen(x)
            a = train_features(net, f, args.frozen_blocks, mix_rng, args.mixstyle)
            logits, _ = net.head(a)
            loss = loss_of(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
            if ema is not None:
                with torch.no_grad():
                    for k, v in net.state_dict().items():
                        if v.dtype.is_floating_point:
                            ema[k].mul_(args.ema).add_(v.detach(), alpha=1 - args.ema)
                        else:
                            ema[k].copy_(v)
        if ema is not None:
            eval_net.load_state_dict(ema)
        entry = {"epoch": epoch + 1, "loss": running / steps_per_epoch}
        if epoch + 1 >= score_from:
            entry.update(score(predict(eval_net, xva, device).numpy(), yva, adjustment))
        entry["seconds"] = time.time() - t0
        log["epochs"].append(entry)
        print(json.dumps(entry), flush=True)
        write_log(log, args.out)  # after every epoch, so a stopped run still shows its progress
    torch.save({k: v.cpu() for k, v in eval_net.state_dict().items()}, os.path.join(args.out, "weights.pt"))
    log["selected"] = f"epoch {args.epochs} (the last)"
    write_log(log, args.out)
    print(f"kept the last epoch; validation: {json.dumps(log['epochs'][-1])}", flush=True)


if __name__ == "__main__":
    main()
