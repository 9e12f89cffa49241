// Package assets embeds what Dermal ships inside its binary: the int8 model, its model card,
// and the translations. Produced by `make model` (model files) and by hand (translations).
package assets

import (
	_ "embed"
)

// ModelCardJSON is the machine-readable model card (human-readable: MODEL_CARD.md).
//
//go:embed model.json
var ModelCardJSON []byte

// ModelONNX is the int8 ONNX model the card describes.
//
//go:embed dermal-int8.onnx
var ModelONNX []byte

// OODSubspace is the embedding subspace for the "not a skin lesion" check (see the card).
//
//go:embed ood-pca.bin
var OODSubspace []byte
