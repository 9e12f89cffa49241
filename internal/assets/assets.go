// Package assets embeds the model Dermal ships inside its binary: the int8 network, its model
// card and the out-of-distribution subspace, all produced by `make model`. (The translations
// are embedded by package locale.)
package assets

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"dermal/internal/inference"
)

// ErrPosingAsShipped means a model card from a file names itself as the shipped model but is
// not the shipped card: an edited temperature, bias, label order or threshold would then run
// under the shipped model's name and hash, and every record made with it would hide that.
var ErrPosingAsShipped = fmt.Errorf("%w: it names itself as the shipped model but is not the shipped card", inference.ErrBadCard)

// CheckNotPosingAsShipped allows a card from a file only as a named, non-shipped model: one
// whose name or version differs from the shipped card's (records name a model by both), or
// the shipped card itself, byte for byte. (make model's draft cards carry no version.)
func CheckNotPosingAsShipped(c inference.Card) error {
	var shipped struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(ModelCardJSON, &shipped); err != nil {
		return err
	}
	if c.Name != shipped.Name || c.Version != shipped.Version || c.DocSHA256 == inference.SHA256Hex(ModelCardJSON) {
		return nil
	}
	return fmt.Errorf("%w (card sha256 %s, the shipped %s %s card is %s); give a changed card a name of its own",
		ErrPosingAsShipped, c.DocSHA256[:12], shipped.Name, shipped.Version, inference.SHA256Hex(ModelCardJSON)[:12])
}

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
