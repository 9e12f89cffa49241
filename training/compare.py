"""How sure a difference between two recipes on the same held-out photos is: paired bootstrap of
the melanoma and malignant AUC differences between two `make model-shift` runs.

    training/compare.py build/shift/SOURCE build/shift/SOURCE-TAG [--reps 1000]
    training/compare.py training/shift/runs/SOURCE training/shift/runs/SOURCE-TAG   (kept copies)

Both runs scored the same photos (the held-out source), so each bootstrap draw resamples photos
once and scores both runs on them. This measures the photos' sampling noise only; retraining
with another seed moves the numbers too (training/README.md, session 5), so an interval that
excludes 0 is necessary, not sufficient, for a recipe to be better.
"""
import argparse
import os

import numpy as np

import tiers
from metrics import auc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("other")
    p.add_argument("--reps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    a, b = tiers.load(args.base, "heldout"), tiers.load(args.other, "heldout")
    if not (a["malignant"] == b["malignant"]).all() or not (a["melanoma"] == b["melanoma"]).all():
        raise SystemExit("the two runs did not score the same held-out photos")
    rng = np.random.default_rng(args.seed)
    n = len(a["mel"])
    draws = [rng.integers(0, n, n) for _ in range(args.reps)]
    name = lambda f: os.path.basename(f.rstrip("/"))
    for key, label in (("mel", "melanoma"), ("mal", "malignant")):
        diff = auc(b[key], b[label]) - auc(a[key], a[label])
        boot = [auc(b[key][i], b[label][i]) - auc(a[key][i], a[label][i]) for i in draws]
        lo, hi = np.percentile(boot, [2.5, 97.5])
        print(f"{label} AUC {name(args.other)} - {name(args.base)}: {diff:+.4f} "
              f"(95% paired bootstrap over {n} photos: {lo:+.4f} to {hi:+.4f})")


if __name__ == "__main__":
    main()
