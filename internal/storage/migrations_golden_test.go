package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// releasedMigrations are the SHA-256 prefixes of the migrations released so far. Records
// in clinics were made by them, and restore compares a backup's schema with what they make:
// a released migration is never edited, only followed by a new one.
var releasedMigrations = []string{
	"2be50f10234577a8",
	"ed624f5396f6cf8e",
	"4f5ab4de6f3d577a",
	"1a3f8ea481723cae",
	"d519434f05d83ddf",
	"c86a508201776c4d",
	"80c2b3a2b975d6bc",
	"9b2f89fd3eb4a281",
	"0fd2c6ec10c7c17c",
	"9d2ff2e0b1d6b9f4",
	"2d93dc4f340b8d99",
	"3812a1f2fa94d9fc",
	"d0cc389d218972ec",
	"f1208f16808e6c62",
	"6eda6f5b3bf59a5e",
	"17db4fd369edb924",
	"5c247f95c0f22409",
	"8ff73d225dceb9a3",
	"8c209dc03a8367e4",
	"b189eba37f0d140e",
	"226b3b20d11e7aba",
	"30afa41f1e78ec5a",
	"8ee9d92f0b2bfae8",
	"385eef74bfa23fc7",
	"3b87c6ea915753fc",
}

func TestMigrationsAreNeverEdited(t *testing.T) {
	for i, want := range releasedMigrations {
		sum := sha256.Sum256([]byte(migrations[i]))
		if got := hex.EncodeToString(sum[:8]); got != want {
			t.Errorf("migration %d was edited (%s, released as %s): add a new migration instead", i+1, got, want)
		}
	}
	if len(migrations) < len(releasedMigrations) {
		t.Errorf("%d migrations, %d released", len(migrations), len(releasedMigrations))
	}
}
