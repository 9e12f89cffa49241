// Package sealbox holds the clinic's data key and what it protects: photos and thumbnails are
// sealed with XChaCha20-Poly1305 (golang.org/x/crypto) under one random 256-bit data key, and
// that key is itself sealed ("wrapped") once per staff account, under a key derived from the
// account's password with argon2id, and once under a recovery key shown at setup. Nothing
// here touches the records; storage keeps the sealed bytes.
package sealbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// Magic starts every sealed blob: no JPEG, PNG, WebP, BMP or TIFF starts with it, so sealed
// and (older) plain blobs tell themselves apart.
const Magic = "DRM1"

// KeySize is the data key's size in bytes.
const KeySize = chacha20poly1305.KeySize

// ErrOpen means sealed bytes did not open: the wrong key, or changed bytes.
var ErrOpen = errors.New("cannot decrypt: wrong key or damaged data")

// Key is the clinic's data key.
type Key struct{ k [KeySize]byte }

// NewKey makes a random data key.
func NewKey() (*Key, error) {
	var k Key
	if _, err := rand.Read(k.k[:]); err != nil {
		return nil, err
	}
	return &k, nil
}

// Seal encrypts plain, bound to aad (the blob's content address, so a sealed blob cannot be
// moved under another name).
func (k *Key) Seal(plain, aad []byte) []byte {
	aead, _ := chacha20poly1305.NewX(k.k[:])
	out := make([]byte, len(Magic)+chacha20poly1305.NonceSizeX, len(Magic)+chacha20poly1305.NonceSizeX+len(plain)+aead.Overhead())
	copy(out, Magic)
	nonce := out[len(Magic):]
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // the system's random source failing is not survivable
	}
	return aead.Seal(out, nonce, plain, aad)
}

// Sealed reports whether b was made by Seal.
func Sealed(b []byte) bool { return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic }

// Open decrypts what Seal made with the same aad.
func (k *Key) Open(sealed, aad []byte) ([]byte, error) {
	if !Sealed(sealed) || len(sealed) < len(Magic)+chacha20poly1305.NonceSizeX {
		return nil, ErrOpen
	}
	aead, _ := chacha20poly1305.NewX(k.k[:])
	nonce := sealed[len(Magic) : len(Magic)+chacha20poly1305.NonceSizeX]
	plain, err := aead.Open(nil, nonce, sealed[len(Magic)+chacha20poly1305.NonceSizeX:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// OpenInPlace is Open into sealed's own memory: the plain bytes are a slice of it, and the
// sealed bytes are gone, even when it fails. For a buffer nobody else holds (a photo just read
// from the records: no second copy of a 12 MP photo in memory).
func (k *Key) OpenInPlace(sealed, aad []byte) ([]byte, error) {
	if !Sealed(sealed) || len(sealed) < len(Magic)+chacha20poly1305.NonceSizeX {
		return nil, ErrOpen
	}
	aead, _ := chacha20poly1305.NewX(k.k[:])
	nonce := sealed[len(Magic) : len(Magic)+chacha20poly1305.NonceSizeX]
	box := sealed[len(Magic)+chacha20poly1305.NonceSizeX:]
	plain, err := aead.Open(box[:0], nonce, box, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// WrapWith seals the data key under an account's wrapping key (accounts.Hash gives it from
// the password).
func (k *Key) WrapWith(wrapping [KeySize]byte) string {
	wk := Key{wrapping}
	return base64.RawStdEncoding.EncodeToString(wk.Seal(k.k[:], []byte("data key")))
}

// UnwrapWith opens what WrapWith made.
func UnwrapWith(wrapped string, wrapping [KeySize]byte) (*Key, error) {
	sealed, err := base64.RawStdEncoding.DecodeString(wrapped)
	if err != nil {
		return nil, ErrOpen
	}
	wk := Key{wrapping}
	raw, err := wk.Open(sealed, []byte("data key"))
	if err != nil || len(raw) != KeySize {
		return nil, ErrOpen
	}
	var k Key
	copy(k.k[:], raw)
	return &k, nil
}

// recoveryEncoding writes recovery keys in groups a person can copy by hand.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRecoveryKey makes a random recovery key, as it is printed for the clinic to keep: 52
// base32 letters in groups of four.
func NewRecoveryKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := recoveryEncoding.EncodeToString(b)
	var groups []string
	for len(s) > 4 {
		groups, s = append(groups, s[:4]), s[4:]
	}
	return strings.Join(append(groups, s), "-"), nil
}

func recoveryWrappingKey(recovery string) (*Key, error) {
	clean := strings.ToUpper(strings.NewReplacer("-", "", " ", "", "\n", "", "\r", "").Replace(recovery))
	raw, err := recoveryEncoding.DecodeString(clean)
	if err != nil || len(raw) != KeySize {
		return nil, fmt.Errorf("%w: that is not a recovery key", ErrOpen)
	}
	var k Key
	copy(k.k[:], raw)
	return &k, nil
}

// WrapWithRecovery seals the data key under the recovery key.
func (k *Key) WrapWithRecovery(recovery string) (string, error) {
	rk, err := recoveryWrappingKey(recovery)
	if err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(rk.Seal(k.k[:], []byte("data key"))), nil
}

// UnwrapWithRecovery opens what WrapWithRecovery made.
func UnwrapWithRecovery(wrapped, recovery string) (*Key, error) {
	rk, err := recoveryWrappingKey(recovery)
	if err != nil {
		return nil, err
	}
	sealed, err := base64.RawStdEncoding.DecodeString(wrapped)
	if err != nil {
		return nil, ErrOpen
	}
	raw, err := rk.Open(sealed, []byte("data key"))
	if err != nil || len(raw) != KeySize {
		return nil, ErrOpen
	}
	var k Key
	copy(k.k[:], raw)
	return &k, nil
}

// KeyFrom makes a data key from 32 given bytes (tests that need the same key in two
// processes).
func KeyFrom(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("a data key is %d bytes, not %d", KeySize, len(b))
	}
	var k Key
	copy(k.k[:], b)
	return &k, nil
}

// Derive is a key for one purpose ("records", "audit"), derived from the data key with
// HMAC-SHA256: the records' seals never use the data key itself.
func (k *Key) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.k[:])
	m.Write([]byte("dermal/" + purpose))
	return m.Sum(nil)
}
