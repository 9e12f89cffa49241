"""`make model-shift`: how a recipe does on an acquisition source it never saw.

For each held-out source (training/shift.py SOURCE...; default vidir_modern and rosendahl), every
lesion with a photo from that source is held out whole; the other lesions keep their split from
training/split.csv. The recipe of `make model` (train.py with its defaults, export, quantize,
evaluate) runs on what is left into build/shift/SOURCE, calibration (logit adjustment and
temperature) is chosen on the remaining validation split exactly as card.py does, and then the
app's own Go path (`dermal eval`: Go decoding, int8 ONNX Runtime, test-time views, calibration,
tiers) scores the held-out photos and the in-source test split. Results: build/shift/results.json
and build/shift/RESULTS.md. Nothing here touches internal/assets/ or the tree's test fixtures.
"""
import csv
import json
import os
import subprocess
import sys
import time

import numpy as np

import common

SOURCES = ["vidir_modern", "rosendahl"]
PY = os.environ.get("TRAIN_PYTHON", sys.executable)
BIN = os.path.join(common.ROOT, "build", "shift", "dermal")


def write_split(held, folder):
    src = common.read_sources()
    split = common.read_split()
    held_lesions = {r[1] for r in split if src.get(r[0]) == held}
    rows = [(i, l, dx, "heldout" if l in held_lesions else s) for i, l, dx, s in split]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "split.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", "lesion_id", "dx", "split"])
        w.writerows(sorted(rows))
    counts = {s: sum(1 for r in rows if r[3] == s) for s in ("train", "val", "test", "heldout")}
    print(f"{held}: {counts}", flush=True)
    return path, counts


def run(cmd, env):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=common.ROOT)


def go_eval(card, split, part, folder, env, logits=None):
    cmd = [BIN, "--model", os.path.join(folder, "dermal-int8.onnx"), "--card", card, "eval", "--json",
           "--labels", split, "--split", part]
    if logits:
        cmd += ["--logits-out", logits]
    cmd.append(os.path.join(common.HAM, "images"))
    out = subprocess.run(cmd, env=env, check=True, cwd=common.ROOT, capture_output=True, text=True).stdout
    return json.loads(out)


def summary(rep):
    m = rep["metrics"]
    return {"n": m["n"], "balanced_accuracy": m["balanced_accuracy"], "melanoma_auc": m["melanoma_auc"],
            "malignant_auc": m["malignant_auc"], "ece": m["ece_calibrated"],
            "malignant_to_urgent_or_review": rep["malignant_by_tier"].get("urgent", 0) + rep["malignant_by_tier"].get("review", 0),
            "benign_referred": rep["benign_referred"]}


def one(held, recipe, tag=""):
    import card as cardlib  # card.py: the calibration rule of make model

    folder = os.path.join(common.ROOT, "build", "shift", held + tag)
    split, counts = write_split(held, folder)
    env = dict(os.environ, DERMAL_SPLIT=split, DERMAL_BUILD=folder)
    t0 = time.time()
    if not os.path.exists(os.path.join(folder, "weights.pt")):
        run([PY, "training/train.py", "--out", folder] + recipe, env)
    trained = time.time() - t0
    for step in ("export.py", "quantize.py", "evaluate.py"):
        run([PY, "training/" + step], env)
    draft = os.path.join(folder, "card-draft.json")
    with open(draft) as f:
        card = json.load(f)
    # A card of its own name: never mistaken for (or refused as posing as) the shipped model.
    card["name"], card["version"] = "shift-heldout-" + held, "0"
    with open(draft, "w") as f:
        json.dump(card, f)
    go_eval(draft, split, "val", folder, env, os.path.join(folder, "int8_val.json"))
    with open(os.path.join(folder, "train_log.json")) as f:
        power = json.load(f)["args"]["sampling_power"]
    with open(split) as f:
        rows = list(csv.DictReader(f))
    n = np.array([sum(1 for r in rows if r["split"] == "train" and r["dx"] == c) for c in common.LABELS], float)
    vl, vy, _ = cardlib.load_go("int8", "val", folder=folder)
    tau, bias, temperature = cardlib.choose_calibration(vl, vy, n, power)
    with open(os.path.join(folder, "int8_val.json")) as f:
        card["ood"]["threshold"] = float(np.percentile(np.array(json.load(f)["ood"]), 99.5))
    card["temperature"], card["logit_bias"] = temperature, [float(b) for b in bias]
    final = os.path.join(folder, "card-shift.json")
    with open(final, "w") as f:
        json.dump(card, f)
    return {"held_out": held, "counts": counts, "tau": tau, "temperature": temperature, "training_seconds": round(trained),
            "held_out_source": summary(go_eval(final, split, "heldout", folder, env, os.path.join(folder, "int8_heldout.json"))),
            "in_source_test": summary(go_eval(final, split, "test", folder, env, os.path.join(folder, "int8_test.json")))}


RUNS = os.path.join(common.ROOT, "training", "shift", "runs")


def keep(folder):
    """Commit-sized copy of a run's per-photo int8 logits (held-out, validation, in-source test) and its
    calibration, under training/shift/runs/NAME: what training/compare.py and tiers.py need to
    compare a later recipe photo by photo with this one after build/ is gone. Logits are
    rounded to 1e-4 (the tiers read probabilities to 0.005)."""
    import gzip

    out = os.path.join(RUNS, os.path.basename(folder.rstrip("/")))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(folder, "card-shift.json")) as f:
        card = json.load(f)
    with open(os.path.join(out, "card-shift.json"), "w") as f:
        json.dump({k: card[k] for k in ("name", "version", "temperature", "logit_bias", "tiers") if k in card}, f, indent=1)
    for part in ("heldout", "val", "test"):
        with open(os.path.join(folder, f"int8_{part}.json")) as f:
            d = json.load(f)
        small = {"ids": d["ids"], "labels": d["labels"], "logits": [[round(v, 4) for v in row] for row in d["logits"]]}
        # mtime 0: the same logits give the same bytes, so a re-keep is no change to commit.
        with gzip.GzipFile(os.path.join(out, f"int8_{part}.json.gz"), "wb", mtime=0) as f:
            f.write(json.dumps(small, separators=(",", ":")).encode())
    return out


def table(results):
    lines = ["| held out | photos | balanced acc. | melanoma AUC | malignant AUC | ECE | malignant → urgent/review | benign referred | in-source test bal. acc. / mel. AUC |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        h, t = r["held_out_source"], r["in_source_test"]
        lines.append(f"| {r['held_out']} | {h['n']} | {h['balanced_accuracy']:.3f} | {h['melanoma_auc']:.3f} | {h['malignant_auc']:.3f} | "
                     f"{h['ece']:.3f} | {h['malignant_to_urgent_or_review']:.1%} | {h['benign_referred']:.1%} | "
                     f"{t['balanced_accuracy']:.3f} / {t['melanoma_auc']:.3f} |")
    return "\n".join(lines) + "\n"


# Recipes measured here: what `make model` does by default (MAKE_MODEL_RECIPE, the shipped model's
# recipe), and the others measured for model 3. Each is environment for every pipeline step
# (common.py reads it) and extra train.py arguments. `SHIFT_RECIPE=3a make model-shift`.
MAKE_MODEL_RECIPE = "3g"
# train.py's defaults are 3g's; the older recipes switch its two levers off, as they ran.
OFF_3G = ["--source-balance", "0", "--probe-epochs", "0"]
RECIPES = {
    "2.0": ({"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "pil"}, OFF_3G),
    "3a": ({"DERMAL_COLOUR_CONSTANCY": "shades_of_gray_p6", "DERMAL_DECODER": "go"}, OFF_3G + ["--device-augment", "0.3"]),
    # One change at a time, to split 3a's effect: colour constancy and the Go decoder alone ...
    "3b": ({"DERMAL_COLOUR_CONSTANCY": "shades_of_gray_p6", "DERMAL_DECODER": "go"}, OFF_3G),
    # ... and 3a with half the device augmentation.
    "3c": ({"DERMAL_COLOUR_CONSTANCY": "shades_of_gray_p6", "DERMAL_DECODER": "go"}, OFF_3G + ["--device-augment", "0.15"]),
    # A different lever: 2.0 with each class's draws spread over the sources (train.py
    # source_balanced_weights), so a source's look stops predicting the diagnosis.
    "3d": ({"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "pil"}, ["--source-balance", "3", "--probe-epochs", "0"]),
    # Another: 2.0 with MixStyle (train.py mixstyle), feature statistics mixed between photos in
    # the early blocks, so the network learns the lesion apart from the source's style.
    "3e": ({"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "pil"}, OFF_3G + ["--mixstyle", "0.5"]),
    # 3d and 3e together: 3d gained on vidir_modern, 3e on rosendahl (training/README.md, session 12).
    "3f": ({"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "pil"}, ["--source-balance", "3", "--probe-epochs", "0", "--mixstyle", "0.5"]),
    # 3d with a linear probe before fine-tuning (train.py linear_probe, LP-FT): a lever on how much
    # fine-tuning reshapes the ImageNet features, not on what is drawn (training/README.md, session
    # 13). Model 3's recipe: train.py's defaults.
    "3g": ({"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "pil"}, []),
}


def main():
    name = os.environ.get("SHIFT_RECIPE", MAKE_MODEL_RECIPE)
    if name not in RECIPES:
        raise SystemExit(f"SHIFT_RECIPE {name!r} is not one of {sorted(RECIPES)}")
    if name != MAKE_MODEL_RECIPE and not os.environ.get("SHIFT_TAG"):
        os.environ["SHIFT_TAG"] = "r" + name
    env, args = RECIPES[name]
    # A child process re-reads common.py, so the recipe goes in through the environment.
    os.environ.update(env)
    common.COLOUR_CONSTANCY, common.DECODER = env["DERMAL_COLOUR_CONSTANCY"], env["DERMAL_DECODER"]
    os.environ["SHIFT_ARGS"] = " ".join(args + os.environ.get("SHIFT_ARGS", "").split())
    held = sys.argv[1:] or SOURCES
    # SHIFT_SMOKE=1: a 1-epoch run of the whole pipeline, to check it before the real one.
    smoke = os.environ.get("SHIFT_SMOKE") == "1"
    recipe, tag = (["--epochs", "1", "--samples-per-epoch", "64", "--score-from", "2"], "-smoke") if smoke else ([], "")
    # SHIFT_TAG names a recipe variant (its folders are build/shift/SOURCE-TAG and build/shift-TAG);
    # SHIFT_ARGS are extra train.py arguments. The variant's colour constancy and decoder are the
    # environment's (common.py), recorded with the results.
    if os.environ.get("SHIFT_TAG"):
        tag += "-" + os.environ["SHIFT_TAG"]
    recipe += os.environ.get("SHIFT_ARGS", "").split()
    os.makedirs(os.path.dirname(BIN), exist_ok=True)
    subprocess.run(["go", "build", "-o", BIN, "."], check=True, cwd=common.ROOT)
    if common.DECODER == "go":
        subprocess.run(["go", "run", "./tools/hamdecode", "-images", os.path.join(common.HAM, "images"),
                        "-out", common.GO_DECODED], check=True, cwd=common.ROOT)
    results = []
    out = os.path.join(common.ROOT, "build", "shift" + tag)
    os.makedirs(out, exist_ok=True)
    for s in held:
        r = one(s, recipe, tag)
        r["recipe"] = {"name": name, "train_args": recipe, "colour_constancy": common.COLOUR_CONSTANCY, "decoder": common.DECODER}
        if not smoke:
            r["kept"] = os.path.relpath(keep(os.path.join(common.ROOT, "build", "shift", s + tag)), common.ROOT)
        results.append(r)
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(out, "RESULTS.md"), "w") as f:
            f.write(table(results))
        print(table(results), flush=True)


if __name__ == "__main__":
    main()
