package sealbox

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpenAndWrap(t *testing.T) {
	k, _ := NewKey()
	photo := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte("x"), 1000)...)
	s := k.Seal(photo, []byte("sha-a"))
	if !Sealed(s) || bytes.Contains(s, photo[:8]) || Sealed(photo) {
		t.Fatal("sealed bytes show a JPEG, or plain looks sealed")
	}
	if got, err := k.Open(s, []byte("sha-a")); err != nil || !bytes.Equal(got, photo) {
		t.Errorf("open: %v", err)
	}
	if _, err := k.Open(s, []byte("sha-b")); !errors.Is(err, ErrOpen) {
		t.Error("a blob opened under another name")
	}
	bad := bytes.Clone(s)
	bad[len(bad)-1] ^= 1
	if _, err := k.Open(bad, []byte("sha-a")); !errors.Is(err, ErrOpen) {
		t.Error("a changed blob opened")
	}
	// In place: the same plain bytes, in the sealed buffer's memory; a changed or misnamed
	// blob does not open.
	inPlace := bytes.Clone(s)
	if got, err := k.OpenInPlace(inPlace, []byte("sha-a")); err != nil || !bytes.Equal(got, photo) || &got[0] != &inPlace[len(Magic)+24] {
		t.Errorf("open in place: %v", err)
	}
	if _, err := k.OpenInPlace(bytes.Clone(bad), []byte("sha-a")); !errors.Is(err, ErrOpen) {
		t.Error("a changed blob opened in place")
	}
	if _, err := k.OpenInPlace(bytes.Clone(s), []byte("sha-b")); !errors.Is(err, ErrOpen) {
		t.Error("a blob opened in place under another name")
	}
	var wk, otherWK [KeySize]byte
	wk[0], otherWK[0] = 1, 2
	w := k.WrapWith(wk)
	if k2, err := UnwrapWith(w, wk); err != nil || k2.k != k.k {
		t.Errorf("unwrap: %v", err)
	}
	if _, err := UnwrapWith(w, otherWK); !errors.Is(err, ErrOpen) {
		t.Error("another wrapping key unwrapped the key")
	}
	rec, _ := NewRecoveryKey()
	rw, _ := k.WrapWithRecovery(rec)
	if k3, err := UnwrapWithRecovery(rw, " "+strings.ToLower(rec)+"\n"); err != nil || k3.k != k.k {
		t.Errorf("recovery (typed in lower case): %v", err)
	}
	other, _ := NewRecoveryKey()
	if _, err := UnwrapWithRecovery(rw, other); !errors.Is(err, ErrOpen) {
		t.Error("another recovery key opened it")
	}
}
