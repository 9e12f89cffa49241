package backupcrypt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestSealAndOpen(t *testing.T) {
	plain := bytes.Repeat([]byte("SQLite format 3\x00 Nguyễn Thị Hồng "), 5000)
	var sealed bytes.Buffer
	if err := Seal(&sealed, bytes.NewReader(plain), Key{Passphrase: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed.Bytes(), []byte(Header)) || bytes.Contains(sealed.Bytes(), []byte("Nguy")) || bytes.Contains(sealed.Bytes(), []byte("SQLite")) {
		t.Fatal("the sealed backup is not an age file, or shows its contents")
	}
	var out bytes.Buffer
	if err := Open(&out, bytes.NewReader(sealed.Bytes()), Key{Passphrase: "wrong horse battery"}); !errors.Is(err, ErrWrongKey) || out.Len() != 0 {
		t.Errorf("wrong passphrase: %v, %d bytes written", err, out.Len())
	}
	if err := Open(&out, bytes.NewReader(sealed.Bytes()), Key{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("no passphrase: %v", err)
	}
	if err := Open(&out, bytes.NewReader(sealed.Bytes()), Key{Passphrase: "correct horse battery"}); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Errorf("right passphrase: %v", err)
	}
	// A flipped byte in the body is caught (authenticated chunks).
	bad := bytes.Clone(sealed.Bytes())
	bad[len(bad)-100] ^= 1
	out.Reset()
	if err := Open(&out, bytes.NewReader(bad), Key{Passphrase: "correct horse battery"}); err == nil {
		t.Error("a damaged backup opened")
	}
	if err := Seal(&sealed, bytes.NewReader(plain), Key{Passphrase: "short"}); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("short passphrase: %v", err)
	}
}

func TestRecipients(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	var sealed, out bytes.Buffer
	if err := Seal(&sealed, strings.NewReader("records"), Key{Recipients: []string{id.Recipient().String()}}); err != nil {
		t.Fatal(err)
	}
	if err := Open(&out, &sealed, Key{Identities: []string{id.String()}}); err != nil || out.String() != "records" {
		t.Errorf("identity: %v %q", err, out.String())
	}
	other, _ := age.GenerateX25519Identity()
	sealed.Reset()
	Seal(&sealed, strings.NewReader("records"), Key{Recipients: []string{id.Recipient().String()}})
	if err := Open(&out, &sealed, Key{Identities: []string{other.String()}}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another identity: %v", err)
	}
	p := filepath.Join(t.TempDir(), "b.age")
	os.WriteFile(p, []byte(Header+"..."), 0o600)
	if ok, _ := IsSealed(p); !ok {
		t.Error("an age file is not seen as sealed")
	}
}
