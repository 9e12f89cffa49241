package clinic_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/storage"
)

// signatures of the photo formats a clinic stores (PNG fixtures, JPEG thumbnails as Go's
// encoder starts them: SOI, then its two quantization tables' DQT marker and length). Long
// enough that sealed bytes never hold one by chance: the 3-byte JPEG marker alone turns up in
// a few hundred kB of ciphertext in about one run in fifty.
var signatures = [][]byte{[]byte("\x89PNG\r\n\x1a\n"), {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x84}}

// dbFiles is the database and its WAL, as an attacker with the disk reads them.
func dbFiles(t *testing.T, c *clinic.Clinic) []byte {
	t.Helper()
	var all []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(c.DataFolder(), clinic.DatabaseFile+suffix))
		if err == nil {
			all = append(all, b...)
		}
	}
	return all
}

// The test: after saving photos with staff accounts, no JPEG or PNG signature is
// anywhere in dermal.db or its WAL; the photos open after login and only then; the recovery
// key sets a new password that opens them again.
func TestPhotosAreEncryptedAtRest(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	recovery, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm"}, "admin", "", "admin password")
	if err != nil || recovery == "" {
		t.Fatalf("setup: %q %v", recovery, err)
	}
	if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	p := clinictest.Patient(t, c, "P1", "Nguyễn Thị Hồng")
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	r, err := c.Assess(ctx, p.ID, 0, "back", photo, clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReceiveCapture(ctx, "phone photo IMG_0001.png", "IMG_0001.png", photo.Bytes, "P1"); err != nil {
		t.Fatal(err)
	}
	raw := dbFiles(t, c)
	for _, sig := range signatures {
		if bytes.Contains(raw, sig) {
			t.Errorf("dermal.db or its WAL contains the signature %q", sig)
		}
	}
	// Nor the photo's plain SHA-256, whole or its first 8 bytes (the capture's audit row named
	// those): holding the photo must not prove it is in the records.
	sum := sha256.Sum256(photo.Bytes)
	if plain := hex.EncodeToString(sum[:]); bytes.Contains(raw, []byte(plain[:16])) {
		t.Error("dermal.db or its WAL contains the photo's plain SHA-256")
	}
	e, _, _ := c.Entry(ctx, r.AssessmentID)
	got, err := c.StoredPhoto(ctx, e.Assessment.PhotoSHA256)
	if err != nil || !bytes.Equal(got.Bytes, photo.Bytes) {
		t.Fatalf("the sealed photo does not open to itself: %v", err)
	}
	// Another process on the same records, nobody logged in: the photo does not open.
	c2 := clinic.New(nil, reopen(t, c), nil)
	defer c2.Close()
	if _, err := c2.StoredPhoto(ctx, e.Assessment.PhotoSHA256); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("without a login the photo: %v", err)
	}
	c2.SetHashParams(cheap)
	if err := c2.RecoverAccount(ctx, "admin", "AAAA-"+recovery[5:], "new admin password"); !errors.Is(err, clinic.ErrLogin) {
		t.Errorf("a wrong recovery key: %v", err)
	}
	if err := c2.RecoverAccount(ctx, "admin", recovery, "new admin password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Login(ctx, "admin", "new admin password"); err != nil {
		t.Fatal(err)
	}
	if got, err := c2.StoredPhoto(ctx, e.Assessment.PhotoSHA256); err != nil || !bytes.Equal(got.Bytes, photo.Bytes) {
		t.Errorf("after the recovery the photo: %v", err)
	}
}

// reopen opens a second store on the clinic's records (as a second process would).
func reopen(t *testing.T, c *clinic.Clinic) *storage.Store {
	t.Helper()
	s, err := storage.Open(filepath.Join(c.DataFolder(), clinic.DatabaseFile), "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Records from before accounts: their plain photos are sealed by the upgrade, each opening
// to its recorded SHA-256 afterwards, and no signature is left in the files.
func TestUpgradeSealsStoredPhotos(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P1", "Trần Văn Minh")
	var shas []string
	var ids []storage.AssessmentID
	for _, f := range []string{"ISIC_0024311.png", "ISIC_0024318.png", "ISIC_0024367.png"} {
		r, err := c.Assess(ctx, p.ID, 0, "back", clinictest.Photo(t, f), clinic.Examination{}, clinic.Findings{})
		if err != nil {
			t.Fatal(err)
		}
		e, _, _ := c.Entry(ctx, r.AssessmentID)
		shas = append(shas, e.Assessment.PhotoSHA256, e.Assessment.ThumbSHA256)
		ids = append(ids, r.AssessmentID)
	}
	if !bytes.Contains(dbFiles(t, c), signatures[0]) {
		t.Fatal("the records from before have no plain photo to seal (the test proves nothing)")
	}
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm"}, "admin", "", "admin password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	n, err := c.SealStoredPhotos(ctx, nil)
	if err != nil || n != 6 {
		t.Fatalf("sealed %d, %v; want the 3 photos and 3 thumbnails", n, err)
	}
	// Each assessment follows its photo and thumbnail to their keyed names, and opens them.
	for i, id := range ids {
		e, _, err := c.Entry(ctx, id)
		if err != nil {
			t.Fatalf("assessment %d after the upgrade: %v", id, err)
		}
		for j, name := range []string{e.Assessment.PhotoSHA256, e.Assessment.ThumbSHA256} {
			if name == shas[2*i+j] {
				t.Errorf("assessment %d still links its photo by the plain SHA-256 %s", id, name[:12])
			}
			if _, err := c.StoredPhoto(ctx, name); err != nil {
				t.Errorf("%s after the upgrade: %v", name[:12], err)
			}
		}
	}
	// Every later login asks again; once finished it is a single lookup.
	if n, err := c.SealStoredPhotos(ctx, nil); n != 0 || err != nil {
		t.Errorf("a second pass sealed %d (%v)", n, err)
	}
	for _, sig := range signatures {
		if bytes.Contains(dbFiles(t, c), sig) {
			t.Errorf("after the upgrade the files still contain %q", sig)
		}
	}
}
