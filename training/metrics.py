"""Classification metrics for the model card; inference/metrics.go implements the same definitions."""
import numpy as np


def softmax(logits, temperature=1.0):
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def confusion(y, pred, k):
    m = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(y, pred):
        m[t, p] += 1
    return m


def balanced_accuracy(y, pred, k):
    m = confusion(y, pred, k)
    support = m.sum(axis=1)
    recalls = [m[i, i] / support[i] for i in range(k) if support[i] > 0]
    return float(np.mean(recalls))


def auc(scores, positive):
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties counted half."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = positive.sum()
    n_neg = len(scores) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ece(probs, y, bins=15):
    """Expected calibration error of the top class, 15 equal-width confidence bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.mean() * abs(conf[sel].mean() - correct[sel].mean())
    return float(total)


def nll(logits, y, temperature):
    p = softmax(logits, temperature)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def fit_temperature(logits, y):
    """Temperature minimizing validation negative log-likelihood (golden-section search, 0.05..20)."""
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, y, np.exp(a)), nll(logits, y, np.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, y, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def report(logits, y, labels, malignant, temperature):
    k = len(labels)
    pred = logits.argmax(axis=1)
    m = confusion(y, pred, k)
    probs = softmax(logits, temperature)
    mel = labels.index("mel")
    mal_idx = [labels.index(c) for c in malignant]
    per_class = {}
    for i, c in enumerate(labels):
        tp = m[i, i]
        per_class[c] = {
            "support": int(m[i].sum()),
            "recall": float(tp / m[i].sum()) if m[i].sum() else None,
            "precision": float(tp / m[:, i].sum()) if m[:, i].sum() else None,
        }
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "balanced_accuracy": balanced_accuracy(y, pred, k),
        "per_class": per_class,
        "melanoma_auc": auc(probs[:, mel], y == mel),
        "malignant_auc": auc(probs[:, mal_idx].sum(axis=1), np.isin(y, mal_idx)),
        "ece_uncalibrated": ece(softmax(logits, 1.0), y),
        "ece_calibrated": ece(probs, y),
        "confusion_matrix": m.tolist(),
    }
