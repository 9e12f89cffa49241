"""How the risk tiers' thresholds trade malignant sensitivity for benign referrals, on the
photos of a `make model-shift` run (int8 logits as the app computed them, with the run's own
calibration): training/tiers.py build/shift/SOURCE[-TAG] ...

For each folder: the app's thresholds (internal/inference/assess.go: urgent P(mel) >= 0.20 or
P(malignant) >= 0.40, review P(malignant) >= 0.10) on the held-out source, the in-source
validation and test splits; then the review threshold on P(malignant) that would send 90% of
the held-out source's malignant photos to urgent/review, and what it costs in benign referrals
there and in-source. Nothing is tuned here: it says what a threshold choice would do.
"""
import json
import os
import sys

import numpy as np

import common

URGENT_MEL, URGENT_MAL, REVIEW_MAL = 0.20, 0.40, 0.10


def probs(folder, part):
    with open(os.path.join(folder, "card-shift.json")) as f:
        card = json.load(f)
    with open(os.path.join(folder, f"int8_{part}.json")) as f:
        d = json.load(f)
    z = (np.array(d["logits"], float) + np.array(card.get("logit_bias") or [0] * 7)) / card["temperature"]
    z -= z.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    y = np.array([common.LABELS.index(c) for c in d["labels"]])
    mal_idx = [common.LABELS.index(c) for c in common.MALIGNANT]
    return p[:, common.LABELS.index("mel")], p[:, mal_idx].sum(1), np.isin(y, mal_idx)


def referred(mel, mal, review=REVIEW_MAL):
    return (mel >= URGENT_MEL) | (mal >= URGENT_MAL) | (mal >= review)


def rates(mel, mal, malignant, review=REVIEW_MAL):
    r = referred(mel, mal, review)
    return float(r[malignant].mean()), float(r[~malignant].mean())


def main():
    for folder in sys.argv[1:]:
        name = os.path.basename(folder.rstrip("/"))
        print(f"## {name}")
        parts = [p for p in ("heldout", "val", "test") if os.path.exists(os.path.join(folder, f"int8_{p}.json"))]
        data = {p: probs(folder, p) for p in parts}
        for p in parts:
            sens, ref = rates(*data[p])
            print(f"{p:8s} app thresholds: malignant -> urgent/review {sens:.1%}, benign referred {ref:.1%} (n={len(data[p][0])})")
        if "heldout" in data:
            mel, mal, malignant = data["heldout"]
            # the largest review threshold whose held-out sensitivity is >= 90%
            grid = np.round(np.arange(0.005, 0.40, 0.005), 3)
            ok = [t for t in grid if rates(mel, mal, malignant, t)[0] >= 0.90]
            if ok:
                t = max(ok)
                line = f"review threshold for 90% held-out sensitivity: P(malignant) >= {t:.3f}: held-out benign referred {rates(mel, mal, malignant, t)[1]:.1%}"
                for p in parts[1:]:
                    s, r = rates(*data[p], t)
                    line += f"; {p} {s:.1%} / {r:.1%}"
                print(line)
            else:
                print("no review threshold reaches 90% held-out sensitivity")


if __name__ == "__main__":
    main()
