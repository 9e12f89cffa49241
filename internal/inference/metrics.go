package inference

import (
	"cmp"
	"math"
	"sort"
)

// Scores computes the model-card metrics (training/metrics.py uses the same definitions)
// from per-image probabilities (label order) and true class indices.
func Scores(labels, malignant []string, probs [][]float64, truth []int, uncalibrated [][]float64) Metrics {
	k := len(labels)
	m := Metrics{N: len(truth), PerClass: map[string]ClassMetric{}}
	conf := make([][]int, k)
	for i := range conf {
		conf[i] = make([]int, k)
	}
	correct := 0
	for i, p := range probs {
		pred := ArgMax(p)
		conf[truth[i]][pred]++
		if pred == truth[i] {
			correct++
		}
	}
	m.ConfusionMatrix = conf
	if len(truth) > 0 {
		m.Accuracy = float64(correct) / float64(len(truth))
	}
	var recalls []float64
	for c, name := range labels {
		support, predicted := 0, 0
		for j := 0; j < k; j++ {
			support += conf[c][j]
			predicted += conf[j][c]
		}
		cm := ClassMetric{Support: support}
		if support > 0 {
			r := float64(conf[c][c]) / float64(support)
			cm.Recall = &r
			recalls = append(recalls, r)
		}
		if predicted > 0 {
			p := float64(conf[c][c]) / float64(predicted)
			cm.Precision = &p
		}
		m.PerClass[name] = cm
	}
	for _, r := range recalls {
		m.BalancedAccuracy += r / float64(len(recalls))
	}
	mel := indexOf(labels, "mel")
	melScore := make([]float64, len(probs))
	melPos := make([]bool, len(probs))
	malScore := make([]float64, len(probs))
	malPos := make([]bool, len(probs))
	for i, p := range probs {
		melScore[i], melPos[i] = p[mel], truth[i] == mel
		for _, c := range malignant {
			j := indexOf(labels, c)
			malScore[i] += p[j]
			malPos[i] = malPos[i] || truth[i] == j
		}
	}
	m.MelanomaAUC = AUC(melScore, melPos)
	m.MalignantAUC = AUC(malScore, malPos)
	m.ECECalibrated = ECE(probs, truth, 15)
	if uncalibrated != nil {
		m.ECEUncalibrated = ECE(uncalibrated, truth, 15)
	}
	return m
}

// ArgMax is the index of the largest value (the first of equals; 0 for an empty slice): the
// top class of probabilities or logits.
func ArgMax[T cmp.Ordered](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// AUC is the area under the ROC curve by the rank-sum formula, ties counted half; NaN when
// one side is empty.
func AUC(scores []float64, positive []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	ranks := make([]float64, len(scores))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && scores[idx[j+1]] == scores[idx[i]] {
			j++
		}
		for t := i; t <= j; t++ {
			ranks[idx[t]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	var nPos, rankSum float64
	for i, p := range positive {
		if p {
			nPos++
			rankSum += ranks[i]
		}
	}
	nNeg := float64(len(scores)) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// ECE is the expected calibration error of the top class over equal-width confidence bins.
func ECE(probs [][]float64, truth []int, bins int) float64 {
	type bin struct{ conf, acc, n float64 }
	bs := make([]bin, bins)
	for i, p := range probs {
		top := ArgMax(p)
		c := p[top]
		b := int(math.Ceil(c*float64(bins))) - 1 // bins are (lo, hi]
		b = min(max(b, 0), bins-1)
		bs[b].conf += c
		bs[b].n++
		if top == truth[i] {
			bs[b].acc++
		}
	}
	var e float64
	for _, b := range bs {
		if b.n > 0 {
			e += b.n / float64(len(probs)) * math.Abs(b.conf/b.n-b.acc/b.n)
		}
	}
	return e
}
