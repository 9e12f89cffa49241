"""The held-out ship rule for a model-3 candidate, as code (training/README.md, sessions 12 and 13).

    shiftrule.py RESULTS.json [RESULTS.json ...]

Reads a recipe's `make model-shift` results (training/shift/recipe-TAG.json or build/shift-TAG/
results.json; several files are merged by held-out source) and judges them against the 2.0
recipe's runs (training/shift/recipe-2.0.json). Parts 1, 3 and 4 concern one source each and are
judged on whatever sources are present; part 2 needs both. Prints each part and exits 0 only when
every part that can be judged passes and every source is present (1: a part fails, 2: a source
is missing, so the verdict is still open).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "shift", "recipe-2.0.json")
SOURCES = ("vidir_modern", "rosendahl")

MAX_LOSS = 0.010  # part 1: melanoma or malignant AUC, either source
MIN_MEAN_MEL_GAIN = 0.018  # part 2: the largest seed-to-seed movement measured (session 5)
MAX_BACC_LOSS = 0.035  # part 3: in-source test balanced accuracy (session 11's seed-to-seed 0.035)
MAX_INSOURCE_MEL_LOSS = 0.010  # part 4 (session 13): in-source test melanoma AUC


def by_source(paths):
    runs = {}
    for p in paths:
        with open(p) as f:
            for r in json.load(f):
                runs[r["held_out"]] = r
    return runs


def judge(cand, base):
    """[(part, source or 'both', verdict bool, text)] for the parts the candidate's sources allow."""
    out = []
    for s in SOURCES:
        if s not in cand:
            continue
        c, b = cand[s], base[s]
        for key in ("melanoma_auc", "malignant_auc"):
            d = c["held_out_source"][key] - b["held_out_source"][key]
            out.append((1, s, d >= -MAX_LOSS, f"held-out {key} {c['held_out_source'][key]:.4f} vs {b['held_out_source'][key]:.4f} ({d:+.4f}; loss allowed {MAX_LOSS})"))
        d = c["in_source_test"]["balanced_accuracy"] - b["in_source_test"]["balanced_accuracy"]
        out.append((3, s, d >= -MAX_BACC_LOSS, f"in-source test balanced accuracy {c['in_source_test']['balanced_accuracy']:.4f} vs {b['in_source_test']['balanced_accuracy']:.4f} ({d:+.4f}; loss allowed {MAX_BACC_LOSS})"))
        d = c["in_source_test"]["melanoma_auc"] - b["in_source_test"]["melanoma_auc"]
        out.append((4, s, d >= -MAX_INSOURCE_MEL_LOSS, f"in-source test melanoma_auc {c['in_source_test']['melanoma_auc']:.4f} vs {b['in_source_test']['melanoma_auc']:.4f} ({d:+.4f}; loss allowed {MAX_INSOURCE_MEL_LOSS})"))
    if all(s in cand for s in SOURCES):
        mean = lambda runs, key: sum(runs[s]["held_out_source"][key] for s in SOURCES) / len(SOURCES)
        d = mean(cand, "melanoma_auc") - mean(base, "melanoma_auc")
        out.append((2, "both", d >= MIN_MEAN_MEL_GAIN, f"mean held-out melanoma_auc {mean(cand, 'melanoma_auc'):.5f} vs {mean(base, 'melanoma_auc'):.5f} ({d:+.5f}; gain needed {MIN_MEAN_MEL_GAIN})"))
        d = mean(cand, "malignant_auc") - mean(base, "malignant_auc")
        out.append((2, "both", d >= 0, f"mean held-out malignant_auc {mean(cand, 'malignant_auc'):.5f} vs {mean(base, 'malignant_auc'):.5f} ({d:+.5f}; no loss allowed)"))
    return sorted(out, key=lambda t: t[0])


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cand, base = by_source(sys.argv[1:]), by_source([BASELINE])
    unknown = sorted(set(cand) - set(SOURCES))
    if unknown:
        raise SystemExit(f"shiftrule: no rule for held-out source(s) {unknown}; it knows {list(SOURCES)}")
    parts = judge(cand, base)
    for part, source, ok, text in parts:
        print(f"part {part} {source:12s} {'pass' if ok else 'FAIL'}  {text}")
    missing = [s for s in SOURCES if s not in cand]
    if not all(ok for *_, ok, _ in parts):
        print("verdict: fails")
        sys.exit(1)
    if missing:
        print(f"verdict: open — no run with {', '.join(missing)} held out yet (part 2 needs both)")
        sys.exit(2)
    print("verdict: passes the held-out rule; next, make model and the validation rule")


if __name__ == "__main__":
    main()
