package inference

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// ErrModelMismatch means the model bytes are not the ones the card describes.
var ErrModelMismatch = errors.New("the model file does not match its model card")

// SHA256Hex is the hex SHA-256 of data.
func SHA256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// LoadModel pairs a card with the model bytes and the out-of-distribution subspace, refusing
// a pair whose checksum disagrees: a result must always name the exact model that produced it.
func LoadModel(cardJSON, onnx, oodPCA []byte) (Model, error) {
	m, err := LoadModelDeferred(cardJSON, onnx, oodPCA)
	if err != nil {
		return m, err
	}
	return m, m.finish()
}

// LoadModelDeferred is LoadModel for the model built into the program: the card is read now,
// the checksums are checked and the subspace read when the engine first loads the model
// (before any result), not at start. Hashing 3.5 MB at every start made the built-in model's
// pages of the program resident in a window that may never analyse a photo (3 MB of its
// idle memory).
func LoadModelDeferred(cardJSON, onnx, oodPCA []byte) (Model, error) {
	card, err := ParseCard(cardJSON)
	if err != nil {
		return Model{}, err
	}
	if want := 4 * card.OOD.Dim * (1 + card.OOD.Components); len(oodPCA) != want {
		return Model{}, fmt.Errorf("%w: %s is %d bytes, expected %d", ErrBadCard, card.OOD.File, len(oodPCA), want)
	}
	return Model{Card: card, Data: onnx, pendingOOD: oodPCA}, nil
}

// finish checks the model's checksums and reads its subspace, once.
func (m *Model) finish() error {
	if m.pendingOOD == nil {
		return nil
	}
	card := m.Card
	if got := SHA256Hex(m.Data); got != card.SHA256 {
		return fmt.Errorf("%w: card says sha256 %s, file has %s", ErrModelMismatch, card.SHA256, got)
	}
	if got := SHA256Hex(m.pendingOOD); got != card.OOD.SHA256 {
		return fmt.Errorf("%w: card says %s has sha256 %s, it has %s", ErrModelMismatch, card.OOD.File, card.OOD.SHA256, got)
	}
	vals := make([]float32, len(m.pendingOOD)/4)
	for i := range vals {
		vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.pendingOOD[4*i:]))
	}
	d := card.OOD.Dim
	pca := &Subspace{Mean: vals[:d]}
	for k := 0; k < card.OOD.Components; k++ {
		pca.Components = append(pca.Components, vals[d*(k+1):d*(k+2)])
	}
	m.OOD, m.pendingOOD = pca, nil
	return nil
}

// LoadModelFiles is LoadModel from a card file and an .onnx file; the subspace file is the
// one the card names, beside the card. A graph with external weights is loaded from its
// path, and its checksum covers the graph file only.
func LoadModelFiles(cardPath, onnxPath string) (Model, error) {
	cj, err := os.ReadFile(cardPath)
	if err != nil {
		return Model{}, err
	}
	data, err := os.ReadFile(onnxPath)
	if err != nil {
		return Model{}, err
	}
	card, err := ParseCard(cj)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", cardPath, err)
	}
	ood, err := os.ReadFile(filepath.Join(filepath.Dir(cardPath), card.OOD.File))
	if err != nil {
		return Model{}, err
	}
	m, err := LoadModel(cj, data, ood)
	if err != nil {
		return m, fmt.Errorf("%s: %w", onnxPath, err)
	}
	m.Path = onnxPath
	return m, nil
}

// Subspace is the principal subspace of training embeddings used by the out-of-distribution
// check.
type Subspace struct {
	Mean       []float32
	Components [][]float32 // orthonormal rows
}

// Residual is the share of the centred vector's length outside the subspace: 0 for a photo
// that looks like training data, towards 1 for one that does not.
func (s *Subspace) Residual(v []float32) float64 {
	x := make([]float64, len(v))
	var norm2 float64
	for i := range v {
		x[i] = float64(v[i]) - float64(s.Mean[i])
		norm2 += x[i] * x[i]
	}
	if norm2 == 0 {
		return 0
	}
	var inside float64
	for _, c := range s.Components {
		var dot float64
		for i, ci := range c {
			dot += float64(ci) * x[i]
		}
		inside += dot * dot
	}
	return math.Sqrt(math.Max(norm2-inside, 0) / norm2)
}
