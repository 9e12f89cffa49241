package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Volume encryption, as far as the system can tell.
const (
	VolumeEncrypted   = "encrypted"
	VolumeUnencrypted = "not encrypted"
	VolumeUnknown     = "unknown"
)

// VolumeEncryption says whether the folder dir is on an encrypted volume and how it knows:
// on Linux, when the mount's block device is a dm-crypt mapping (LUKS), directly or under
// LVM. Elsewhere (Windows BitLocker, macOS FileVault) Dermal cannot tell: "unknown".
func VolumeEncryption(dir string) (state, how string) {
	if runtime.GOOS != "linux" {
		return VolumeUnknown, "this system does not say (on Windows check BitLocker in the Control Panel)"
	}
	return linuxVolume(dir, "/proc/self/mountinfo", "/sys/dev/block")
}

// linuxVolume finds the mount holding dir in mountinfo and walks its device in sysBlock.
func linuxVolume(dir, mountinfo, sysBlock string) (string, string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return VolumeUnknown, err.Error()
	}
	for {
		if _, err := os.Stat(abs); err == nil || abs == "/" {
			break
		}
		abs = filepath.Dir(abs) // not created yet: its nearest existing parent
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open(mountinfo)
	if err != nil {
		return VolumeUnknown, err.Error()
	}
	defer f.Close()
	best, dev, fstype := "", "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source options
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		mp := fields[4]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, dev = mp, fields[2]
			for i, fl := range fields {
				if fl == "-" && i+1 < len(fields) {
					fstype = fields[i+1]
				}
			}
		}
	}
	if best == "" {
		return VolumeUnknown, "no mount found for " + abs
	}
	if crypt := isCrypt(filepath.Join(sysBlock, dev), 0); crypt {
		return VolumeEncrypted, fmt.Sprintf("%s is on dm-crypt (device %s)", best, dev)
	}
	switch fstype {
	case "tmpfs", "overlay", "fuse", "fuse.sshfs", "nfs", "nfs4", "cifs", "9p":
		return VolumeUnknown, fmt.Sprintf("%s is %s; its storage cannot be inspected", best, fstype)
	}
	return VolumeUnencrypted, fmt.Sprintf("%s (device %s, %s) is not a dm-crypt volume", best, dev, fstype)
}

// isCrypt reports whether the block device at sys (a /sys/dev/block/M:N path) is a dm-crypt
// mapping or sits on one (LVM on LUKS), following its slaves a few levels down.
func isCrypt(sys string, depth int) bool {
	if depth > 4 {
		return false
	}
	if uuid, err := os.ReadFile(filepath.Join(sys, "dm", "uuid")); err == nil && strings.HasPrefix(string(uuid), "CRYPT-") {
		return true
	}
	slaves, _ := os.ReadDir(filepath.Join(sys, "slaves"))
	for _, s := range slaves {
		if isCrypt(filepath.Join(sys, "slaves", s.Name()), depth+1) {
			return true
		}
	}
	// A partition's own slaves hang off its parent disk's directory.
	return false
}
