package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// export --dicom writes a referral's study (photo, letter, result) that dciodvfy passes; the
// same referral exported again gives the same files (the same UIDs); an assessment without a
// referral, or of a patient who refused sharing, is refused with what to do.
func TestExportDICOM(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	data := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("admin password\n"), 0o600)
	mustRun(t, "--data", data, "setup", "--clinic", "Trạm Y tế xã Đồng Tâm", "--admin", "admin", "--password-file", pw)
	as := func(args ...string) (int, string, string) {
		return run(t, append([]string{"--data", data, "--user", "admin", "--password-file", pw}, args...)...)
	}
	must := func(args ...string) {
		t.Helper()
		if code, _, stderr := as(args...); code != 0 {
			t.Fatalf("dermal %v: exit %d %s", args, code, stderr)
		}
	}
	must("clinic", "--address", "Xã Đồng Tâm, huyện Mỹ Đức", "--phone", "024 3384 1234")
	must("patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1", "--sex", "F", "--birth-year", "1971")
	must("assess", "--patient", "BN-1", "--site", "foot", filepath.Join(fixtures, "ISIC_0024311.png"))
	dir := filepath.Join(t.TempDir(), "usb")
	if code, _, stderr := as("export", "--dicom", dir, "--assessment", "1"); code != 1 || !strings.Contains(stderr, "write the referral letter first") {
		t.Errorf("export without a referral: exit %d %s", code, stderr)
	}
	must("report", "--assessment", "1", "--referral", "--to", "Khoa Da liễu, Bệnh viện tỉnh", "--reason", "Nốt thay đổi màu", "--clinician", "Lê Văn An", "-o", filepath.Join(t.TempDir(), "l.pdf"))
	code, out, stderr := as("export", "--dicom", dir, "--assessment", "1", "--lang", "vi")
	if code != 0 {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	if strings.Count(out, "wrote") != 3 {
		t.Errorf("export said %q", out)
	}
	first := map[string][]byte{}
	for _, name := range []string{"photo.dcm", "letter.dcm", "result.dcm"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) < 132 || string(b[128:132]) != "DICM" {
			t.Fatalf("%s: not a DICOM file (%v)", name, err)
		}
		first[name] = b
		if bin, err := exec.LookPath("dciodvfy"); err == nil {
			report, _ := exec.Command(bin, "-new", filepath.Join(dir, name)).CombinedOutput()
			for _, l := range strings.Split(string(report), "\n") {
				if strings.HasPrefix(l, "Error") {
					t.Errorf("%s: dciodvfy: %s", name, l)
				}
			}
		}
	}
	if !bytes.Contains(first["photo.dcm"], []byte("Nguy\xe1\xbb\x85n^Th\xe1\xbb\x8b H\xe1\xbb\x93ng")) {
		t.Error("the photo does not carry the patient's name, family name first, in UTF-8")
	}
	again := filepath.Join(t.TempDir(), "again")
	if code, _, stderr := as("export", "--dicom", again, "--assessment", "1", "--lang", "vi"); code != 0 {
		t.Fatal(stderr)
	}
	for name, b := range first {
		if c, _ := os.ReadFile(filepath.Join(again, name)); !bytes.Equal(b, c) {
			t.Errorf("%s differs when the same referral is exported again", name)
		}
	}
	if code, _, stderr := as("export", "--dicom", dir); code != 2 || !strings.Contains(stderr, "--assessment ID") {
		t.Errorf("usage: exit %d %s", code, stderr)
	}
}
