package clinic_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"

	"dermal/internal/backupcrypt"
	"dermal/internal/backupset"
	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/storage"
)

func init() { backupcrypt.ScryptWorkFactor = 10 }

var passKey = clinic.BackupKey{Passphrase: "a long backup passphrase"}

// loggedIn is a clinic set up and logged in as its administrator, with n patients assessed.
func loggedIn(t *testing.T, n int) (*clinic.Clinic, []storage.AssessmentID) {
	t.Helper()
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế Xã"}, "admin", "Lê Văn An", "admin password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	return c, assessN(t, c, "P", n)
}

func assessN(t *testing.T, c *clinic.Clinic, prefix string, n int) []storage.AssessmentID {
	t.Helper()
	photos := []string{"ISIC_0024311.png", "ISIC_0024318.png", "ISIC_0024367.png"}
	var ids []storage.AssessmentID
	for i := range n {
		p := clinictest.Patient(t, c, fmt.Sprintf("%s%03d", prefix, i), "Nguyễn Thị "+prefix+fmt.Sprint(i))
		r, err := c.Assess(context.Background(), p.ID, 0, "back", clinictest.Photo(t, photos[i%3]), clinic.Examination{PhotoType: "dermoscopic"}, clinic.Findings{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.AssessmentID)
	}
	return ids
}

// restoredCounts restores the backup src onto a new laptop's data folder and returns the
// patients and assessments there, with every photo opened after the login.
func restoredCounts(t *testing.T, src string, key clinic.BackupKey) (patients, assessments int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "new laptop")
	if _, err := clinic.RestoreFile(src, filepath.Join(dir, clinic.DatabaseFile), key); err != nil {
		t.Fatalf("restore of %s: %v", filepath.Base(src), err)
	}
	store, err := clinic.OpenStore(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := clinic.New(nil, store, nil)
	defer c.Close()
	c.SetHashParams(cheap)
	ctx := context.Background()
	if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	s := clinic.StoreOf(c)
	ps, err := s.SearchPatients(ctx, "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		hs, err := s.History(ctx, p.ID)
		if err != nil {
			t.Fatalf("history of %s after the restore: %v", p.Code, err)
		}
		for _, h := range hs {
			if _, err := c.StoredPhoto(ctx, h.Assessment.PhotoSHA256); err != nil {
				t.Fatalf("photo of %s after the restore: %v", p.Code, err)
			}
			assessments++
		}
	}
	return len(ps), assessments
}

// Records-trust item 10 and the scale issue's item 5: an encrypted backup is written as it
// is read; no plain copy goes beside the records, so it works with the records' own disk
// full (the copy needed the records' size again there), and restores whole.
func TestEncryptedBackupNeedsNoRoomBesideTheRecords(t *testing.T) {
	home := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", home).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", home).Run() })
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	store, err := clinic.OpenStore(home, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := clinic.New(nil, store, nil)
	defer c.Close()
	s := clinic.StoreOf(c)
	for i := range 40 {
		if _, err := s.AddPatient(context.Background(), storage.Patient{Code: fmt.Sprintf("H%03d", i), FullName: "Hồ Văn " + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Fill the records' disk.
	f, _ := os.Create(filepath.Join(home, "filler"))
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	dest := filepath.Join(t.TempDir(), "backup.age")
	if _, err := c.Backup(context.Background(), dest, &passKey, false); err != nil {
		t.Fatalf("an encrypted backup with the records' disk full: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(home, ".dermal-*"))
	if len(left) > 0 {
		t.Errorf("the backup left %v beside the records", left)
	}
	restored := filepath.Join(t.TempDir(), "r", clinic.DatabaseFile)
	if _, err := clinic.RestoreFile(dest, restored, passKey); err != nil {
		t.Fatal(err)
	}
	r, err := storage.Open(restored, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ps, _ := r.SearchPatients(context.Background(), "", 1000); len(ps) != 40 {
		t.Errorf("%d patients restored, want 40", len(ps))
	}
}

// The scale issue's item 5: backups into a folder grow with the day's work. The first is
// everything; after a day's work the next holds only the new photos and the changed rows,
// far smaller; restore from the folder rebuilds today's records, photos and seals whole.
func TestBackupFolderGrowsWithTheDaysWork(t *testing.T) {
	c, _ := loggedIn(t, 12)
	ctx := context.Background()
	folder := filepath.Join(t.TempDir(), "usb", "dermal-backups") + string(filepath.Separator)
	first, err := c.BackupTo(ctx, folder, &passKey, false)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Folder || !first.Full || first.Runs != 1 {
		t.Fatalf("first backup into the folder: %+v", first)
	}
	assessN(t, c, "D", 1) // the day's work
	second, err := c.BackupTo(ctx, folder, &passKey, false)
	if err != nil {
		t.Fatal(err)
	}
	if second.Full || second.Runs != 2 {
		t.Fatalf("second backup: %+v", second)
	}
	// One new photo and thumbnail against twelve of each (three distinct photos there): the
	// increment is the new photo and a few chunks of rows, well under half the base.
	if 2*second.Bytes >= first.Bytes {
		t.Errorf("the increment is %d bytes against the base's %d", second.Bytes, first.Bytes)
	}
	if p, a := restoredCounts(t, folder, passKey); p != 13 || a != 13 {
		t.Errorf("restored from the folder: %d patients, %d assessments; want 13 and 13", p, a)
	}
	// The single-file backup of the same records restores the same.
	file := filepath.Join(t.TempDir(), "full.age")
	if _, err := c.Backup(ctx, file, &passKey, false); err != nil {
		t.Fatal(err)
	}
	if p, a := restoredCounts(t, file, passKey); p != 13 || a != 13 {
		t.Errorf("restored from the file: %d patients, %d assessments", p, a)
	}
}

// What a backup folder refuses: another passphrase than its runs', another clinic's folder,
// a list changed outside Dermal, a folder of other files; a killed run is cleaned up and the
// next backup goes on.
func TestBackupFolderRefusesWhatRestoreCouldNotUse(t *testing.T) {
	c, _ := loggedIn(t, 2)
	ctx := context.Background()
	folder := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backup(ctx, folder, &passKey, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backup(ctx, folder, &clinic.BackupKey{Passphrase: "another long passphrase"}, false); !errors.Is(err, backupcrypt.ErrWrongKey) {
		t.Errorf("another passphrase: %v", err)
	}
	if _, err := c.Backup(ctx, folder, &clinic.BackupKey{Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}}, false); !errors.Is(err, backupcrypt.ErrWrongKey) {
		t.Errorf("recipients into a passphrase folder: %v", err)
	}
	other, _ := loggedIn(t, 1)
	if _, err := other.Backup(ctx, folder, &passKey, false); !errors.Is(err, backupset.ErrForeign) {
		t.Errorf("another clinic's records into the folder: %v", err)
	}
	runs, _ := backupset.Runs(folder)
	names := filepath.Join(folder, runs[0]+".names")
	b, _ := os.ReadFile(names)
	os.WriteFile(names, []byte("c-"+strings.Repeat("0", 62)+"\n"+string(b)), 0o600)
	if _, err := c.Backup(ctx, folder, &passKey, false); !errors.Is(err, backupset.ErrForeign) {
		t.Errorf("a list with a name added: %v", err)
	}
	os.WriteFile(names, b, 0o600)
	os.WriteFile(filepath.Join(folder, ".x.run.age.tmp-123"), []byte("half"), 0o600) // what a killed run leaves
	if _, err := c.Backup(ctx, folder, &passKey, false); err != nil {
		t.Fatalf("after a killed backup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(folder, ".x.run.age.tmp-123")); err == nil {
		t.Error("the killed backup's partial run is still there")
	}
	photos := t.TempDir()
	os.WriteFile(filepath.Join(photos, "IMG_0001.jpg"), []byte("x"), 0o600)
	if _, err := c.Backup(ctx, photos, &passKey, false); !errors.Is(err, backupset.ErrNotABackupSet) {
		t.Errorf("a folder of other files: %v", err)
	}
	if _, err := clinic.RestoreFile(folder, filepath.Join(t.TempDir(), clinic.DatabaseFile), clinic.BackupKey{Passphrase: "wrong long passphrase"}); !errors.Is(err, backupcrypt.ErrWrongKey) {
		t.Errorf("restore with a wrong passphrase: %v", err)
	}
}

// A backup folder sealed for an age recipient (the district's key, say): the backups need no
// passphrase, the next one into the folder holds only what changed, and the identity restores
// the folder whole.
func TestBackupFolderForAnAgeRecipient(t *testing.T) {
	c, _ := loggedIn(t, 3)
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key := clinic.BackupKey{Recipients: []string{id.Recipient().String()}}
	folder := filepath.Join(t.TempDir(), "district") + string(filepath.Separator)
	if _, err := c.BackupTo(ctx, folder, &key, false); err != nil {
		t.Fatal(err)
	}
	assessN(t, c, "R", 1)
	second, err := c.BackupTo(ctx, folder, &key, false)
	if err != nil || second.Full || second.Runs != 2 {
		t.Fatalf("the second backup: %+v %v", second, err)
	}
	if p, a := restoredCounts(t, folder, clinic.BackupKey{Identities: []string{id.String()}}); p != 4 || a != 4 {
		t.Errorf("restored with the identity: %d patients, %d assessments; want 4 and 4", p, a)
	}
}
