// Package backupcrypt seals backup files with age (filippo.io/age): under a passphrase
// (scrypt) or for age recipients (X25519 public keys), so a backup on a lost USB stick is
// unreadable without the key. It only streams bytes; what a backup contains is storage's.
package backupcrypt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// Header is how every age file starts.
const Header = "age-encryption.org/v1\n"

// ScryptWorkFactor is log2 of scrypt's N for passphrase backups: 16 costs 64 MiB and about a
// quarter of a second here (age's own default, 18, takes 256 MiB: more than the app's memory
// budget leaves beside the model). Tests lower it.
var ScryptWorkFactor = 16

// MinPassphrase is the shortest passphrase accepted: a backup is only as safe as it.
const MinPassphrase = 10

// ErrWrongKey means the passphrase or identity does not open the backup.
var ErrWrongKey = errors.New("the passphrase or key does not open this backup")

// ErrNoKey means an encrypted backup needs a passphrase or identity and none was given.
var ErrNoKey = errors.New("this backup is encrypted: give its passphrase")

// Key is what seals or opens a backup: a passphrase, or age recipients (sealing) and
// identities (opening), written as age prints them (age1…, AGE-SECRET-KEY-1…).
type Key struct {
	Passphrase string
	Recipients []string
	Identities []string
}

func (k Key) recipients() ([]age.Recipient, error) {
	if k.Passphrase != "" && len(k.Recipients) > 0 {
		return nil, errors.New("a backup is sealed with a passphrase or with recipients, not both")
	}
	if k.Passphrase != "" {
		if len([]rune(k.Passphrase)) < MinPassphrase {
			return nil, fmt.Errorf("the backup passphrase is %d characters; use at least %d", len([]rune(k.Passphrase)), MinPassphrase)
		}
		r, err := age.NewScryptRecipient(k.Passphrase)
		if err != nil {
			return nil, err
		}
		r.SetWorkFactor(ScryptWorkFactor)
		return []age.Recipient{r}, nil
	}
	var rs []age.Recipient
	for _, s := range k.Recipients {
		r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("age recipient %q: %w", s, err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, errors.New("no passphrase and no recipient to seal the backup for")
	}
	return rs, nil
}

// NewWriter returns a writer that encrypts what is written to it for the key onto dst; Close
// finishes the file (it does not close dst).
func NewWriter(dst io.Writer, k Key) (io.WriteCloser, error) {
	rs, err := k.recipients()
	if err != nil {
		return nil, err
	}
	return age.Encrypt(dst, rs...)
}

// Seal writes src to dst encrypted for the key.
func Seal(dst io.Writer, src io.Reader, k Key) error {
	w, err := NewWriter(dst, k)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return err
	}
	return w.Close()
}

// NewReader returns the decrypted stream of src. A wrong passphrase or identity is
// ErrWrongKey, found before anything is read; a damaged file fails while it is read (age
// authenticates every 64 KiB chunk), as "the backup is damaged".
func NewReader(src io.Reader, k Key) (io.Reader, error) {
	ids, err := k.identities()
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(src, ids...)
	if err != nil {
		return nil, openError(err)
	}
	return damagedReader{r}, nil
}

type damagedReader struct{ r io.Reader }

func (d damagedReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("the backup is damaged: %w", err)
	}
	return n, err
}

// Open writes the decrypted src to dst (NewReader): the caller must write to a temporary
// file and keep it only on success.
func Open(dst io.Writer, src io.Reader, k Key) error {
	r, err := NewReader(src, k)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, r)
	return err
}

func (k Key) identities() ([]age.Identity, error) {
	var ids []age.Identity
	if k.Passphrase != "" {
		id, err := age.NewScryptIdentity(k.Passphrase)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	for _, s := range k.Identities {
		parsed, err := age.ParseIdentities(strings.NewReader(s))
		if err != nil {
			return nil, fmt.Errorf("age identity: %w", err)
		}
		ids = append(ids, parsed...)
	}
	if len(ids) == 0 {
		return nil, ErrNoKey
	}
	return ids, nil
}

func openError(err error) error {
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) || strings.Contains(err.Error(), "incorrect passphrase") {
		return ErrWrongKey
	}
	return fmt.Errorf("the backup cannot be decrypted: %w", err)
}

// Check reports whether k opens src (an age file), reading only its header: ErrWrongKey if
// not.
func Check(src io.Reader, k Key) error {
	_, err := NewReader(src, k)
	return err
}

// IsSealed reports whether the file at path is an age file.
func IsSealed(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(Header))
	n, _ := io.ReadFull(bufio.NewReader(f), head)
	return bytes.Equal(head[:n], []byte(Header)), nil
}
