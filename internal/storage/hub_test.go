package storage

import (
	"context"
	"path/filepath"
	"testing"
)

// Records of schema 24 keep their accounts through migration 25 (the users table made again
// for the specialist role): the same rows and rowids, the users' change tags kept by their
// triggers, and a specialist can then be added.
func TestSpecialistRoleMigrationKeepsTheAccounts(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	path := filepath.Join(t.TempDir(), "v24.db")
	full := migrations
	migrations = full[:24]
	old, err := Open(path, "old")
	if err == nil {
		_, err = old.SetUp(context.Background(), Setup{Profile: ClinicProfile{Name: "Trạm"}, RecoveryWrapped: "r", Admin: User{Name: "an", FullName: "Lê Văn An", Role: "admin"}, Hash: "$argon2id$h", Wrapped: "w"})
		old.Close()
	}
	migrations = full
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, "new")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.UserByName(context.Background(), "an")
	if err != nil || u.FullName != "Lê Văn An" || u.Role != "admin" || u.ID != 1 {
		t.Fatalf("the administrator after the upgrade: %+v %v", u, err)
	}
	if _, covered, err := tableTags(context.Background(), s.db, "users"); err != nil || !covered {
		t.Errorf("the users' change tags after the upgrade: covered %v, %v", covered, err)
	}
	if _, err := s.db.Exec(`INSERT INTO users (name, role, pw_hash, created_at, updated_at) VALUES ('minh', 'specialist', '$argon2id$x', '', '')`); err != nil {
		t.Errorf("a specialist after the upgrade: %v", err)
	}
}
