"""`make model-shift`: how a recipe does on an institution or acquisition source it never saw.

For each held-out institution or source (training/shift.py NAME...; common.INSTITUTION; default
bcn and ids; also vidir_modern, rosendahl; "bcn+ids" holds two out together), every lesion (or patient)
with a photo from it is held out whole; the other lesions keep their split from
training/split.csv. The recipe of `make model` (train.py with its defaults, export, quantize,
evaluate) runs on what is left into build/shift/SOURCE-rRECIPE, calibration (logit adjustment and
temperature) is chosen on the remaining validation split exactly as card.py does, and then the
app's own Go path (`dermal eval`: Go decoding, int8 ONNX Runtime, test-time views, calibration,
tiers) scores the held-out photos and the in-source test split; `breakdown` adds each held-out
institution and the acral photos apart. A recipe trained on HAM10000 alone is not retrained for an
institution HAM10000 never had: its shipped model is that run (RELEASES). Results:
build/shift-TAG/results.json and RESULTS.md (TAG: rRECIPE unless SHIFT_TAG names it). Nothing here touches internal/assets/ or the tree's test fixtures.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import common

SOURCES = ["bcn", "ids"]
PY = os.environ.get("TRAIN_PYTHON", sys.executable)
BIN = os.path.join(common.ROOT, "build", "shift", "dermal")


def held_names(held):
    """"bcn+ids" -> ["bcn", "ids"]: institutions (common.INSTITUTION) or sources held out together."""
    return held.split("+")


def is_held(source, held):
    return any(source == h or common.INSTITUTION.get(source) == h for h in held_names(held))


def write_split(held, folder):
    """The split with every group (lesion or patient) that has a photo from the held-out
    institutions or sources marked "heldout"; the rest keep training/split.csv's split. Also
    labels.csv for `dermal eval`: the photos with one of the seven diagnoses that this recipe's
    data (common.DATA) scores, and every held-out one."""
    with open(common.SPLIT_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    names = held_names(held)
    unknown = [h for h in names if h not in common.INSTITUTION and h not in common.INSTITUTION.values()]
    if unknown:
        raise SystemExit(f"{unknown} are neither sources nor institutions: {sorted(set(common.INSTITUTION) | set(common.INSTITUTION.values()))}")
    held_groups = {r["lesion_id"] for r in rows if is_held(r["source"], held)}
    for r in rows:
        if r["lesion_id"] in held_groups:
            r["split"] = "heldout"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "split.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, common.SPLIT_COLUMNS)
        w.writeheader()
        w.writerows(sorted(rows, key=lambda r: r["image_id"]))
    in_data = {r["image_id"] for r in common.read_split_rows()} if common.DATA != "all" else None
    labels = os.path.join(folder, "labels.csv")
    with open(labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", "dx", "split"])
        for r in sorted(rows, key=lambda r: r["image_id"]):
            if r["dx"] and (r["split"] == "heldout" or in_data is None or r["image_id"] in in_data):
                w.writerow([r["image_id"], r["dx"], r["split"]])
    counts = {s: sum(1 for r in rows if r["split"] == s) for s in ("train", "val", "test", "heldout")}
    print(f"{held}: {counts}", flush=True)
    return path, labels, counts


def run(cmd, env):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=common.ROOT)


def go_eval(card, labels, part, folder, env, logits=None, model=None):
    cmd = [BIN, "--model", model or os.path.join(folder, "dermal-int8.onnx"), "--card", card, "eval", "--json",
           "--labels", labels, "--split", part]
    if logits:
        cmd += ["--logits-out", logits]
    cmd.append(common.ALL_IMAGES)
    out = subprocess.run(cmd, env=env, check=True, cwd=common.ROOT, capture_output=True, text=True).stdout
    return json.loads(out)


def summary(rep):
    m = rep["metrics"]
    return {"n": m["n"], "balanced_accuracy": m["balanced_accuracy"], "melanoma_auc": m["melanoma_auc"],
            "malignant_auc": m["malignant_auc"], "ece": m["ece_calibrated"],
            "malignant_to_urgent_or_review": rep["malignant_by_tier"].get("urgent", 0) + rep["malignant_by_tier"].get("review", 0),
            "benign_referred": rep["benign_referred"]}


# The tiers group_stats applies; None: the run's own card's (retier sets the committed ones).
TIERS = None


def group_stats(folder, part, keep_ids):
    """The issue's numbers for a subset of a run's photos (one held-out institution, or the acral
    ones), from the logits the Go path wrote and the run's calibration: melanoma AUC (against
    every other photo, and against nevi alone), malignant AUC, calibrated ECE, and the tiers
    (tiers.py: urgent or review from the probabilities, as the operating point is chosen)."""
    import metrics
    import tiers

    with open(os.path.join(folder, "card-shift.json")) as f:
        card = json.load(f)
    d = tiers.read_part(folder, part)
    sel = np.array([i in keep_ids for i in d["ids"]])
    if not sel.any():
        return None
    z = (np.array(d["logits"], float) + np.array(card.get("logit_bias") or [0] * 7))[sel]
    y = np.array([common.LABELS.index(c) for c in d["labels"]])[sel]
    p = metrics.softmax(z, card["temperature"])
    t = TIERS or card.get("tiers") or tiers.committed()
    v = tiers.split(p, y)
    ref = tiers.referred(v, t["urgent_melanoma"], t["urgent_malignant"], t["review_malignant"])
    mel, nv = common.LABELS.index("mel"), common.LABELS.index("nv")
    pair = (y == mel) | (y == nv)

    def share(mask):
        return float(ref[mask].mean()) if mask.any() else None

    def auc_or_none(score, pos, mask=None):
        mask = np.ones(len(y), bool) if mask is None else mask
        return metrics.auc(score[mask], pos[mask]) if pos[mask].any() and (~pos[mask]).any() else None

    return {"n": int(sel.sum()), "melanomas": int((y == mel).sum()), "nevi": int((y == nv).sum()),
            "melanoma_auc": auc_or_none(v["mel"], v["melanoma"]),
            "melanoma_vs_nevus_auc": auc_or_none(v["mel"], v["melanoma"], pair),
            "malignant_auc": auc_or_none(v["mal"], v["malignant"]),
            "ece": metrics.ece(p, y),
            "melanoma_to_urgent_or_review": share(v["melanoma"]),
            "malignant_to_urgent_or_review": share(v["malignant"]),
            "nevi_referred": share(y == nv), "benign_referred": share(~v["malignant"])}


def breakdown(folder, split, held):
    """group_stats of each held-out institution, of the held-out acral photos, and of the
    in-source test split and its acral photos."""
    with open(split, newline="") as f:
        rows = list(csv.DictReader(f))
    out, sets = {}, []
    for h in held_names(held):
        ids = {r["image_id"] for r in rows if r["split"] == "heldout" and is_held(r["source"], h)}
        sets.append(ids)
        out["heldout " + h] = group_stats(folder, "heldout", ids)
    acral = {r["image_id"] for r in rows if r["split"] == "heldout" and r["acral"] == "1"}
    if acral not in sets:  # all of Barcelona's photos are acral: the same line twice otherwise
        out["heldout acral"] = group_stats(folder, "heldout", acral)
    out["test"] = group_stats(folder, "test", {r["image_id"] for r in rows if r["split"] == "test"})
    out["test acral"] = group_stats(folder, "test", {r["image_id"] for r in rows if r["split"] == "test" and r["acral"] == "1"})
    return {k: v for k, v in out.items() if v}


def one(held, recipe, tag=""):
    import card as cardlib  # card.py: the calibration rule of make model

    folder = os.path.join(common.ROOT, "build", "shift", held + tag)
    split, labels, counts = write_split(held, folder)
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
    go_eval(draft, labels, "val", folder, env, os.path.join(folder, "int8_val.json"))
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
    result = {"held_out": held, "counts": counts, "tau": tau, "temperature": temperature, "training_seconds": round(trained),
              "held_out_source": summary(go_eval(final, labels, "heldout", folder, env, os.path.join(folder, "int8_heldout.json"))),
              "in_source_test": summary(go_eval(final, labels, "test", folder, env, os.path.join(folder, "int8_test.json")))}
    result["groups"] = breakdown(folder, split, held)
    return result


# A recipe's shipped model, by the commit that shipped it. A recipe trained on HAM10000 alone
# never saw an institution HAM10000 does not have, so its leave-that-institution-out run is the
# shipped model itself: scoring it is pairing without retraining (and bit for bit what
# retraining on this machine gives: training/README.md, model 2.0).
RELEASES = {"3g": ("3.0.0", "fb012de99390802528dfac7d8e6aeee4821e9301")}


def score_release(held, name, tag):
    version, rev = RELEASES[name]
    folder = os.path.join(common.ROOT, "build", "shift", held + tag)
    split, labels, counts = write_split(held, folder)
    env = dict(os.environ, DERMAL_SPLIT=split, DERMAL_BUILD=folder)
    for name in ("dermal-int8.onnx", "ood-pca.bin", "model.json"):
        src, dst = "internal/assets/" + name, name
        blob = subprocess.run(["git", "show", f"{rev}:{src}"], check=True, cwd=common.ROOT, capture_output=True).stdout
        with open(os.path.join(folder, dst), "wb") as f:
            f.write(blob)
    with open(os.path.join(folder, "model.json")) as f:
        card = json.load(f)
    if card["version"] != version:
        raise SystemExit(f"{rev} holds model {card['version']}, not {version}")
    card["name"], card["version"] = f"shift-heldout-{held}-model-{version}", "0"
    final = os.path.join(folder, "card-shift.json")
    with open(final, "w") as f:
        json.dump(card, f)
    go_eval(final, labels, "val", folder, env, os.path.join(folder, "int8_val.json"))
    result = {"held_out": held, "counts": counts, "release": version, "commit": rev,
              "held_out_source": summary(go_eval(final, labels, "heldout", folder, env, os.path.join(folder, "int8_heldout.json"))),
              "in_source_test": summary(go_eval(final, labels, "test", folder, env, os.path.join(folder, "int8_test.json")))}
    result["groups"] = breakdown(folder, split, held)
    return result


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


def fmt(v, pct=False):
    return "—" if v is None else f"{v:.1%}" if pct else f"{v:.3f}"


def table(results):
    lines = ["| held out | photos | balanced acc. | melanoma AUC | malignant AUC | ECE | malignant → urgent/review | benign referred | in-source test bal. acc. / mel. AUC |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        h, t = r["held_out_source"], r["in_source_test"]
        lines.append(f"| {r['held_out']} | {h['n']} | {h['balanced_accuracy']:.3f} | {h['melanoma_auc']:.3f} | {h['malignant_auc']:.3f} | "
                     f"{h['ece']:.3f} | {h['malignant_to_urgent_or_review']:.1%} | {h['benign_referred']:.1%} | "
                     f"{t['balanced_accuracy']:.3f} / {t['melanoma_auc']:.3f} |")
    groups = [(r["held_out"], g, v) for r in results for g, v in r.get("groups", {}).items()]
    if groups:
        lines += ["", "| run (held out) | photos | n (mel / nv) | melanoma AUC | mel. vs nevus AUC | malignant AUC | ECE | "
                      "melanomas → urgent/review | nevi referred | benign referred |", "|---|---|---|---|---|---|---|---|---|---|"]
        for run_name, g, v in groups:
            lines.append(f"| {run_name} | {g} | {v['n']} ({v['melanomas']} / {v['nevi']}) | {fmt(v['melanoma_auc'])} | "
                         f"{fmt(v['melanoma_vs_nevus_auc'])} | {fmt(v['malignant_auc'])} | {fmt(v['ece'])} | "
                         f"{fmt(v['melanoma_to_urgent_or_review'], True)} | {fmt(v['nevi_referred'], True)} | {fmt(v['benign_referred'], True)} |")
    return "\n".join(lines) + "\n"


# Recipes measured here: what `make model` does by default (MAKE_MODEL_RECIPE, the shipped model's
# recipe), and the others measured for model 3. Each is environment for every pipeline step
# (common.py reads it) and extra train.py arguments. `SHIFT_RECIPE=3a make model-shift`.
MAKE_MODEL_RECIPE = "4"
# train.py's defaults are 3g's levers; the older recipes switch them off, as they ran.
OFF_3G = ["--source-balance", "0", "--probe-epochs", "0"]
# Models 1-3 trained on HAM10000 alone, with PIL's decoding.
HAM = {"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "pil", "DERMAL_DATA": "ham10000", "DERMAL_CALIBRATION_IMAGES": "256"}
HAM_GO_SOG = dict(HAM, DERMAL_COLOUR_CONSTANCY="shades_of_gray_p6", DERMAL_DECODER="go")
RECIPES = {
    "2.0": (HAM, OFF_3G),
    "3a": (HAM_GO_SOG, OFF_3G + ["--device-augment", "0.3"]),
    # One change at a time, to split 3a's effect: colour constancy and the Go decoder alone ...
    "3b": (HAM_GO_SOG, OFF_3G),
    # ... and 3a with half the device augmentation.
    "3c": (HAM_GO_SOG, OFF_3G + ["--device-augment", "0.15"]),
    # A different lever: 2.0 with each class's draws spread over the sources (train.py
    # source_balanced_weights), so a source's look stops predicting the diagnosis.
    "3d": (HAM, ["--source-balance", "3", "--probe-epochs", "0"]),
    # Another: 2.0 with MixStyle (train.py mixstyle), feature statistics mixed between photos in
    # the early blocks, so the network learns the lesion apart from the source's style.
    "3e": (HAM, OFF_3G + ["--mixstyle", "0.5"]),
    # 3d and 3e together: 3d gained on vidir_modern, 3e on rosendahl (training/README.md, session 12).
    "3f": (HAM, ["--source-balance", "3", "--probe-epochs", "0", "--mixstyle", "0.5"]),
    # 3d with a linear probe before fine-tuning (train.py linear_probe, LP-FT): a lever on how much
    # fine-tuning reshapes the ImageNet features, not on what is drawn (training/README.md, session
    # 13). Model 3.0.0.
    "3g": (HAM, []),
    # Model 4: 3g's levers on every source (HAM10000, the ISIC Archive folder, the acral folder;
    # the photos known only as benign train with a set-valued loss, train.py loss_of), decoded by
    # the app's own intake. train.py's defaults.
    # Model 4.0.0 (512 calibration photos: quantize.py).
    "4": ({"DERMAL_COLOUR_CONSTANCY": "", "DERMAL_DECODER": "go", "DERMAL_DATA": "all", "DERMAL_CALIBRATION_IMAGES": "512"}, []),
}


def retier(path):
    """Rewrites a results file (training/shift/recipe-N.json) and its table with the tiers of
    training/shift/operating-point.json applied to its kept runs' probabilities: the operating
    point is chosen on those runs after they ran, with the tiers of the operating point before
    it (`training/shift.py --retier FILE`)."""
    global TIERS
    import tiers

    TIERS = tiers.committed()
    with open(path) as f:
        results = json.load(f)
    for r in results:
        common.DATA = r["recipe"]["data"]
        folder = os.path.join(common.ROOT, r["kept"])
        with tempfile.TemporaryDirectory() as tmp:
            split, _, _ = write_split(r["held_out"], tmp)
            r["groups"] = breakdown(folder, split, r["held_out"])
            with open(split, newline="") as f:
                held_ids = {row["image_id"] for row in csv.DictReader(f) if row["split"] == "heldout"}
        whole = group_stats(folder, "heldout", held_ids)
        r["held_out_source"].update({k: whole[k] for k in ("malignant_to_urgent_or_review", "benign_referred")})
        r["tiers"] = {k: TIERS[k] for k in ("urgent_melanoma", "urgent_malignant", "review_malignant")}
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    with open(path.removesuffix(".json") + ".md", "w") as f:
        f.write(table(results))
    print(table(results))


def main():
    if sys.argv[1:2] == ["--retier"]:
        for path in sys.argv[2:]:
            retier(path)
        return
    name = os.environ.get("SHIFT_RECIPE", MAKE_MODEL_RECIPE)
    if name not in RECIPES:
        raise SystemExit(f"SHIFT_RECIPE {name!r} is not one of {sorted(RECIPES)}")
    # Every recipe's folders carry its name (build/shift/bcn-r4, build/shift-r4/RESULTS.md).
    if not os.environ.get("SHIFT_TAG"):
        os.environ["SHIFT_TAG"] = "r" + name
    env, args = RECIPES[name]
    # A child process re-reads common.py, so the recipe goes in through the environment.
    os.environ.update(env)
    common.COLOUR_CONSTANCY, common.DECODER, common.DATA = env["DERMAL_COLOUR_CONSTANCY"], env["DERMAL_DECODER"], env["DERMAL_DATA"]
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
    # Decoded once (make decoded): redoing it would pull build/images from under another run's
    # `dermal eval` (it did, when two ran at once).
    if not (os.path.exists(common.GO_DECODED + ".ids") and os.path.isdir(common.ALL_IMAGES)):
        subprocess.run(["make", "--no-print-directory", "decoded"], check=True, cwd=common.ROOT)
    results = []
    out = os.path.join(common.ROOT, "build", "shift" + tag)
    os.makedirs(out, exist_ok=True)
    for s in held:
        if env["DERMAL_DATA"] == "ham10000" and not any(is_held(src, s) for src in common.HAM_SOURCES) and not smoke:
            if name not in RELEASES:
                raise SystemExit(f"recipe {name} trained on HAM10000 never saw {s}; score its shipped model (RELEASES) instead")
            r = score_release(s, name, tag)
        else:
            r = one(s, recipe, tag)
        r["recipe"] = {"name": name, "train_args": recipe, "colour_constancy": common.COLOUR_CONSTANCY,
                       "decoder": common.DECODER, "data": env["DERMAL_DATA"]}
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
