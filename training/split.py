"""Writes training/split.csv: every training photo in train / val / test (70/15/15).

HAM10000's rows keep the split of models 1-3 (by lesion_id, stratified by diagnosis, the same
seed), so their in-source test set is the one 3.0.0 was scored on. The ISIC folders' rows are
split by patient (else lesion, else photo), stratified by source and diagnosis
(common.split_groups).
"""
import collections
import csv

import common

if __name__ == "__main__":
    meta = common.read_metadata()
    source_of = common.read_ham_sources()
    ham = [{"image_id": i, "lesion_id": l, "dx": dx, "split": s, "source": source_of[i], "label": dx,
            "acral": "1" if m["localization"] == "acral" else "0"}
           for (i, l, dx, s), m in zip(common.make_split(meta), meta)]
    rows = ham + common.split_groups(common.read_isic_rows())
    common.write_split(rows)
    c = collections.Counter((r["split"], r["label"]) for r in rows)
    for s in ("train", "val", "test"):
        print(s, sum(v for (k, _), v in c.items() if k == s),
              {dx: c[(s, dx)] for dx in common.LABELS + list(common.LABEL_SETS) if c[(s, dx)]})
