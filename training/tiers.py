"""The risk tiers' operating point, and how it trades malignant sensitivity for benign referrals,
on the photos of `make model-shift` runs (int8 logits as the app computed them, with each run's
own calibration).

    training/tiers.py build/shift/SOURCE[-TAG] ...            what the card's thresholds do
    training/tiers.py --choose OUT build/shift/SOURCE ...      choose the review threshold

The tiers (internal/inference/assess.go TierFor, thresholds in the model card): urgent when
P(mel) >= urgent_melanoma or P(malignant) >= urgent_malignant, review when P(malignant) >=
review_malignant. A clinic's dermatoscope is always one the model never saw, so the review
threshold is chosen on sources the training never saw, not on the validation split: --choose
takes the largest review threshold (0.005 grid) at which every given held-out source keeps at
least TARGET of its malignant photos, and of its melanomas, in urgent or review, and writes it with what it costs there
and in-source (OUT: JSON; training/shift/operating-point.json is the committed one, which
evaluate.py puts into the card). It also says, for each source, what a threshold chosen on the
others alone does on it: the honest out-of-sample check of the rule. The urgent thresholds are
not chosen here (they are the project's since model 1.0).
"""
import argparse
import gzip
import json
import os

import numpy as np

import common
import metrics

OPERATING_POINT = os.path.join(common.ROOT, "training", "shift", "operating-point.json")
TARGET = 0.90
GRID = np.round(np.arange(0.005, 0.40, 0.005), 3)


def committed():
    with open(OPERATING_POINT) as f:
        return json.load(f)


def read_part(folder, part):
    """A run's int8_PART logits: the build folder's JSON, or the gzipped copy training/shift.py
    keep() commits under training/shift/runs/ (build/ does not outlive a machine)."""
    path = os.path.join(folder, f"int8_{part}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    with gzip.open(path + ".gz", "rt") as f:
        return json.load(f)


def has_part(folder, part):
    return any(os.path.exists(os.path.join(folder, f"int8_{part}.json{z}")) for z in ("", ".gz"))


def load(folder, part):
    """P(mel), P(malignant), is-malignant and is-melanoma of a run's photos, with its card."""
    with open(os.path.join(folder, "card-shift.json")) as f:
        card = json.load(f)
    d = read_part(folder, part)
    z = np.array(d["logits"], float) + np.array(card.get("logit_bias") or [0] * 7)
    y = np.array([common.LABELS.index(c) for c in d["labels"]])
    return dict(split(metrics.softmax(z, card["temperature"]), y), tiers=card.get("tiers"))


def split(p, y):
    """What the tier rule reads of probabilities p (labels y): P(mel), P(malignant), and which
    photos are malignant and which melanomas."""
    mal_idx = [common.LABELS.index(c) for c in common.MALIGNANT]
    mel = common.LABELS.index("mel")
    return {"mel": p[:, mel], "mal": p[:, mal_idx].sum(1), "malignant": np.isin(y, mal_idx), "melanoma": y == mel}


def referred(d, urgent_mel, urgent_mal, review):
    return (d["mel"] >= urgent_mel) | (d["mal"] >= urgent_mal) | (d["mal"] >= review)


def rates(d, urgent_mel, urgent_mal, review):
    r = referred(d, urgent_mel, urgent_mal, review)
    return {"malignant_sensitivity": float(r[d["malignant"]].mean()), "melanoma_sensitivity": float(r[d["melanoma"]].mean()),
            "benign_referred": float(r[~d["malignant"]].mean()), "n": int(len(r))}


def meets(r):
    """Both the malignant photos and the melanomas among them at TARGET or above (model 4: the
    acral institutions' malignant photos are almost all melanomas; HAM10000's rosendahl adds bcc
    and akiec)."""
    return r["malignant_sensitivity"] >= TARGET and r["melanoma_sensitivity"] >= TARGET


def largest(d, urgent_mel, urgent_mal):
    ok = [t for t in GRID if meets(rates(d, urgent_mel, urgent_mal, t))]
    return float(max(ok)) if ok else None


def show(folder):
    name = os.path.basename(folder.rstrip("/"))
    parts = [p for p in ("heldout", "val", "test") if has_part(folder, p)]
    data = {p: load(folder, p) for p in parts}
    t = data[parts[0]]["tiers"] or {k: v for k, v in committed().items() if k in ("urgent_melanoma", "urgent_malignant", "review_malignant")}
    th = (t["urgent_melanoma"], t["urgent_malignant"], t["review_malignant"])
    print(f"## {name} (thresholds {th}{'' if data[parts[0]]['tiers'] else ', the committed ones: the run card has none'})")
    for p in parts:
        r = rates(data[p], *th)
        print(f"{p:8s} malignant -> urgent/review {r['malignant_sensitivity']:.1%} (melanoma {r['melanoma_sensitivity']:.1%}), "
              f"benign referred {r['benign_referred']:.1%} (n={r['n']})")
    if "heldout" in data:
        best = largest(data["heldout"], th[0], th[1])
        print(f"largest review threshold keeping {TARGET:.0%} of held-out malignant photos: {best}")


def choose(out, folders):
    base = committed()
    um, uM = base["urgent_melanoma"], base["urgent_malignant"]
    runs = {}
    for folder in folders:
        # The held-out source, as the run's own card names it (shift.py: "shift-heldout-SOURCE"),
        # not parsed from the folder name.
        with open(os.path.join(folder, "card-shift.json")) as f:
            name = json.load(f)["name"].removeprefix("shift-heldout-")
        if name in runs:
            raise SystemExit(f"two runs hold out {name}: give one run per source")
        runs[name] = {p: load(folder, p) for p in ("heldout", "val", "test")}
    alone = {n: largest(r["heldout"], um, uM) for n, r in runs.items()}
    if any(v is None for v in alone.values()):
        raise SystemExit(f"no review threshold reaches {TARGET:.0%} on every held-out source: {alone}")
    review = min(alone.values())
    result = {
        "urgent_melanoma": um, "urgent_malignant": uM, "review_malignant": review,
        "chosen": (f"the largest on a 0.005 grid at which each source held out by make model-shift "
                   f"({', '.join(runs)}) keeps >= {TARGET:.0%} of its malignant photos and of its melanomas in urgent or review "
                   f"(training/tiers.py --choose)"),
        "target_malignant_sensitivity": TARGET,
        "held_out": {n: {"alone": alone[n], **{p: rates(r[p], um, uM, review) for p in ("heldout", "val", "test")}}
                     for n, r in runs.items()},
        # What the rule does out of sample: the threshold chosen on the other sources alone.
        "cross_check": [{"applied_to": n, "chosen_on": [m for m in runs if m != n],
                         "review_malignant": min(alone[m] for m in runs if m != n),
                         **rates(runs[n]["heldout"], um, uM, min(alone[m] for m in runs if m != n))}
                        for n in runs if len(runs) > 1],
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    same = all(result[k] == base[k] for k in ("urgent_melanoma", "urgent_malignant", "review_malignant"))
    print(f"wrote {out}; thresholds {'equal' if same else 'DIFFER from'} the committed {OPERATING_POINT}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--choose", metavar="OUT", help="write the chosen operating point here")
    p.add_argument("folders", nargs="+")
    args = p.parse_args()
    if args.choose:
        choose(args.choose, args.folders)
    else:
        for f in args.folders:
            show(f)


if __name__ == "__main__":
    main()
