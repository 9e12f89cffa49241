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

// A patient with a referral in the district hub's outbox can be deleted for good: the outbox
// row goes with the referral (it held the delete back with a foreign-key error).
func TestHardDeleteTakesTheOutbox(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	ref, err := r.s.AddReferral(ctx, Referral{AssessmentID: r.urgent, ReferredTo: "Khoa Da liễu"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.s.QueueReferral(ctx, ref, "vi", []byte("%PDF-1.4 letter"), nil); err != nil {
		t.Fatal(err)
	}
	e, err := r.s.Entry(ctx, r.urgent)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.s.DeletePatient(ctx, e.Lesion.PatientID, true); err != nil {
		t.Fatalf("deleting for good a patient with a queued referral: %v", err)
	}
	if items, _ := r.s.Outbox(ctx, false); len(items) != 0 {
		t.Errorf("the outbox still holds %d referrals of the deleted patient", len(items))
	}
}
