package accounts

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// fast keeps the tests quick; the shipped parameters are measured in BenchmarkHash.
var fast = Params{MemoryKiB: 1024, Time: 1, Threads: 1}

func TestHashAndVerify(t *testing.T) {
	h, wk, err := Hash("mật khẩu dài", fast)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q %v", h, err)
	}
	h2, wk2, _ := Hash("mật khẩu dài", fast)
	if h == h2 || wk == wk2 {
		t.Error("two hashes of one password are equal: no per-user salt")
	}
	if ok, got, err := Verify(h, "mật khẩu dài"); !ok || err != nil || got != wk {
		t.Errorf("right password: %v %v, wrapping key returned %v", ok, err, got == wk)
	}
	if strings.Contains(h, base64.RawStdEncoding.EncodeToString(wk[:])) {
		t.Error("the stored hash holds the wrapping key")
	}
	if ok, got, _ := Verify(h, "mật khẩu dai"); ok || got != (WrapKey{}) {
		t.Error("a wrong password verified, or returned a key")
	}
	if _, _, err := Verify("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a non-argon2id hash accepted")
	}
	if err := CheckPassword("short"); err == nil {
		t.Error("a 5-character password accepted")
	}
}

func TestDelayGrows(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {3, 0}, {4, 2 * time.Second}, {5, 4 * time.Second}, {6, 8 * time.Second}, {20, MaxDelay}} {
		if got := Delay(tc.failures); got != tc.want {
			t.Errorf("%d failures: %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, _, err := Hash("a clinic password", Default); err != nil {
			b.Fatal(err)
		}
	}
}

// The records-trust issue's accepted passwords are refused, each naming why; phrases pass.
func TestWeakPasswordsAreRefused(t *testing.T) {
	for _, pw := range []string{"aaaaaaaa", "password", "12345678", "        ", "  abc  ", "abcdefgh", "87654321", "PassWord", "Mat Khau 123", "aaaabbbb"} {
		if err := CheckPassword(pw); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("%q accepted: %v", pw, err)
		}
	}
	for _, pw := range []string{"admin password", "correct horse battery staple", "Trạm y tế Đồng Tâm", "b4n-ghe-xanh"} {
		if err := CheckPassword(pw); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}
