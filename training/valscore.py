"""Validation numbers of a packaged model, for comparing candidates without touching the test split.

Usage: /usr/bin/python3 training/valscore.py BUILD_FOLDER CARD_JSON [--ham10000]
(e.g. build/model internal/assets/model.json after `make model-package`; --ham10000: HAM10000's
validation photos only, the ones models 1-3 were scored on). Reads the logits the app computed
(`dermal eval --logits-out`: int8_val.json, fp32_val.json), applies the card's logit bias and
temperature, and prints the card's metrics for four views and one view, and the int8/fp32
top-class agreement.
"""
import json
import sys

import numpy as np

import common
import metrics
from card import load_go


def main():
    folder, card_path = sys.argv[1], sys.argv[2]
    ham = common.read_ham_sources() if "--ham10000" in sys.argv[3:] else None
    with open(card_path) as f:
        card = json.load(f)
    bias, temperature = np.array(card["logit_bias"]), card["temperature"]
    top = {}
    for variant in ("int8", "fp32"):
        for key, views in (("logits", "four views"), ("logits_identity", "one view")):
            logits, y, ids = load_go(variant, "val", key, folder)
            if ham is not None:
                keep = np.array([i in ham for i in ids])
                logits, y = logits[keep], y[keep]
            if key == "logits":
                top[variant] = logits.argmax(1)
            r = metrics.report(logits + bias, y, common.LABELS, common.MALIGNANT, temperature)
            print(f"{variant} {views}: balanced accuracy {r['balanced_accuracy']:.4f} accuracy {r['accuracy']:.4f} "
                  f"melanoma AUC {r['melanoma_auc']:.4f} ECE {r['ece_calibrated']:.4f}")
    print(f"int8/fp32 top-class agreement {(top['int8'] == top['fp32']).mean():.4f}")


if __name__ == "__main__":
    main()
