package config

import (
	"os"
	"path/filepath"
	"testing"
)

// A fake /proc/self/mountinfo and /sys/dev/block: /home on LVM on LUKS (encrypted), / on a
// plain partition.
func TestLinuxVolume(t *testing.T) {
	root := t.TempDir()
	sys := filepath.Join(root, "sys")
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(s), 0o644)
	}
	write(filepath.Join(sys, "253:1", "dm", "uuid"), "LVM-abc")
	os.MkdirAll(filepath.Join(sys, "253:1", "slaves"), 0o755)
	write(filepath.Join(sys, "253:1", "slaves", "dm-0", "dm", "uuid"), "CRYPT-LUKS2-123-luks")
	os.MkdirAll(filepath.Join(sys, "8:1"), 0o755)
	home := filepath.Join(root, "home")
	os.MkdirAll(filepath.Join(home, "an"), 0o755)
	mi := filepath.Join(root, "mountinfo")
	write(mi, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"+
		"30 22 253:1 / "+home+" rw - ext4 /dev/mapper/vg-home rw\n")
	if state, how := linuxVolume(filepath.Join(home, "an", "dermal-not-yet"), mi, sys); state != VolumeEncrypted {
		t.Errorf("under /home: %s (%s)", state, how)
	}
	if state, how := linuxVolume(root, mi, sys); state != VolumeUnencrypted {
		t.Errorf("on /: %s (%s)", state, how)
	}
	if state, _ := VolumeEncryption(t.TempDir()); state == "" {
		t.Error("no answer for this machine")
	}
}
