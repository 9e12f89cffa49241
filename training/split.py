"""Writes training/split.csv: HAM10000 split by lesion_id into train / val / test (70/15/15)."""
import collections

import common

if __name__ == "__main__":
    split = common.make_split(common.read_metadata())
    common.write_split(split)
    c = collections.Counter((s, dx) for _, _, dx, s in split)
    for s in ("train", "val", "test"):
        print(s, sum(v for (k, _), v in c.items() if k == s), {dx: c[(s, dx)] for dx in common.LABELS})
