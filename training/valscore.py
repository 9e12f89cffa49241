"""Validation numbers of a packaged model, for comparing candidates without touching the test split.

Usage: /usr/bin/python3 training/valscore.py BUILD_FOLDER CARD_JSON
(e.g. build/model assets/model.json after `make model-package`). Reads the logits the app computed
(`dermal eval --logits-out`: int8_val.json, fp32_val.json) and applies the card's logit bias and
temperature; prints balanced accuracy, accuracy and melanoma AUC for four views and one view, and
the int8/fp32 top-class agreement.
"""
import json
import sys

import numpy as np

import common
import metrics


def main():
    folder, card_path = sys.argv[1], sys.argv[2]
    with open(card_path) as f:
        card = json.load(f)
    bias, temperature = np.array(card["logit_bias"]), card["temperature"]
    mel = common.LABELS.index("mel")
    top = {}
    for variant in ("int8", "fp32"):
        with open(f"{folder}/{variant}_val.json") as f:
            d = json.load(f)
        y = np.array([common.LABELS.index(label) for label in d["labels"]])
        top[variant] = np.array(d["logits"]).argmax(1)
        for key, views in (("logits", "four views"), ("logits_identity", "one view")):
            adjusted = np.array(d[key]) + bias
            p = metrics.softmax(adjusted / temperature)
            print(f"{variant} {views}: balanced accuracy {metrics.balanced_accuracy(y, adjusted.argmax(1), len(common.LABELS)):.4f}"
                  f" accuracy {(adjusted.argmax(1) == y).mean():.4f} melanoma AUC {metrics.auc(p[:, mel], y == mel):.4f}")
    print(f"int8/fp32 top-class agreement {(top['int8'] == top['fp32']).mean():.4f}")


if __name__ == "__main__":
    main()
