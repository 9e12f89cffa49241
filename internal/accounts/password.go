// Package accounts holds what staff accounts need beside the records: password hashing with
// argon2id (golang.org/x/crypto), the rules for user names, roles and passwords, and the
// growing delay after failed logins. The records store its outputs; they never see a
// password.
package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Default is sized for a low-end clinic laptop: 64 MiB and 3 passes on one lane take about
// a quarter of a second on one core (make bench: BenchmarkHash) — slow for an attacker
// guessing offline, quick enough that a login stays well under a second, and 64 MiB fits the
// app's memory budget beside the model. (OWASP's argon2id floor is 19 MiB with 2 passes.)
var Default = Params{MemoryKiB: 64 * 1024, Time: 3, Threads: 1}

// One argon2id run gives 64 bytes: the first 32 are stored (to check the password), the last
// 32 never are: they are the account's key-wrapping key (WrapKey), so a login costs one
// argon2id run, and whoever reads the records learns nothing about the wrapping key.
const saltLen, keyLen, outLen = 16, 32, 64

// WrapKey is the per-account key that wraps the clinic's data key.
type WrapKey [32]byte

// MinPassword is the shortest password accepted.
const MinPassword = 8

// Errors.
var (
	ErrWeakPassword = errors.New("password too short")
	ErrBadHash      = errors.New("not an argon2id hash")
)

// CheckPassword refuses a password a clinic should not use: shorter than MinPassword characters
// (spaces at either end not counted), fewer than four different characters ("aaaaaaaa", eight
// spaces), a run up or down the keyboard's digits or letters ("12345678", "abcdefgh"), or one of
// the passwords tried first by anyone guessing (commonPasswords).
func CheckPassword(pw string) error {
	trimmed := strings.TrimSpace(pw)
	if n := utf8.RuneCountInString(trimmed); n < MinPassword {
		return fmt.Errorf("%w: %d characters (spaces at the ends not counted), use at least %d", ErrWeakPassword, n, MinPassword)
	}
	distinct := map[rune]bool{}
	for _, r := range strings.ToLower(trimmed) {
		distinct[r] = true
	}
	if len(distinct) < 4 {
		return fmt.Errorf("%w: it repeats %d characters; use a phrase of several words", ErrWeakPassword, len(distinct))
	}
	if isRun(strings.ToLower(trimmed)) {
		return fmt.Errorf("%w: it runs along the keyboard (%s…); use a phrase of several words", ErrWeakPassword, string([]rune(trimmed)[:3]))
	}
	folded := strings.ToLower(strings.Join(strings.Fields(trimmed), ""))
	if slices.Contains(commonPasswords, folded) {
		return fmt.Errorf("%w: it is one of the passwords anyone guessing tries first; use a phrase of several words", ErrWeakPassword)
	}
	return nil
}

// isRun reports whether s steps by the same +1 or -1 from each character to the next
// ("12345678", "87654321", "abcdefgh").
func isRun(s string) bool {
	r := []rune(s)
	for _, step := range []rune{1, -1} {
		run := true
		for i := 1; i < len(r) && run; i++ {
			run = r[i]-r[i-1] == step
		}
		if run {
			return true
		}
	}
	return false
}

// commonPasswords are the most used passwords of public leak lists, and their Vietnamese
// counterparts, as typed without spaces in lower case: the first a guesser tries.
var commonPasswords = []string{
	"password", "password1", "password123", "passw0rd", "p@ssw0rd", "12345678", "123456789", "1234567890",
	"11111111", "00000000", "qwertyui", "qwertyuiop", "1q2w3e4r", "1qaz2wsx", "iloveyou", "sunshine",
	"princess", "football", "baseball", "welcome1", "abc12345", "admin123", "administrator", "letmein1",
	"trustno1", "superman", "whatever", "zaq12wsx", "asdfghjk", "changeme", "qwerty123", "dragon12",
	"matkhau", "matkhau1", "matkhau123", "anhyeuem", "emyeuanh", "iloveyou1", "vietnam1", "123456aa",
	"88888888", "66666666", "12341234", "dermal123", "clinic123", "doctor123", "bacsi123", "phongkham",
}

// Hash returns the password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$key; key is the first half of a 64-byte output, so the
// string is Dermal's, not checkable by other PHC tools), with a fresh random salt, and the
// account's wrapping key (the output's second half).
func Hash(pw string, p Params) (string, WrapKey, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", WrapKey{}, err
	}
	out := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, outLen)
	var wk WrapKey
	copy(wk[:], out[keyLen:])
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(out[:keyLen])), wk, nil
}

// Verify reports whether pw matches the hash (in constant time), with the hash's own
// parameters, so older hashes keep working when Default changes; when it does, it returns
// the account's wrapping key.
func Verify(hash, pw string) (bool, WrapKey, error) {
	var wk WrapKey
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, wk, ErrBadHash
	}
	var v int
	var p Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, wk, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil || p.Threads == 0 || p.Time == 0 {
		return false, wk, ErrBadHash
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) != keyLen {
		return false, wk, ErrBadHash
	}
	out := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, outLen)
	if subtle.ConstantTimeCompare(out[:keyLen], want) != 1 {
		return false, wk, nil
	}
	copy(wk[:], out[keyLen:])
	return true, wk, nil
}

// Roles.
const (
	Admin     = "admin"     // accounts, settings, restore, hard delete, and everything clinical
	Clinician = "clinician" // everything clinical
	// Specialist is a district specialist's: everything a clinician may, and the window
	// opens on the district hub's inbox of referrals to answer.
	Specialist = "specialist"
)

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return r == Admin || r == Clinician || r == Specialist }

// FreeFailures is how many wrong passwords in a row cost nothing; after them each failure
// doubles the wait before the next try, from 2 s up to MaxDelay.
const FreeFailures = 3

// MaxDelay caps the wait: a clinician who forgot the password is not locked out for the day.
const MaxDelay = 5 * time.Minute

// Delay is how long to wait before the next login after failures wrong passwords in a row.
func Delay(failures int) time.Duration {
	if failures <= FreeFailures {
		return 0
	}
	d := 2 * time.Second
	for i := FreeFailures + 1; i < failures && d < MaxDelay; i++ {
		d *= 2
	}
	return min(d, MaxDelay)
}
