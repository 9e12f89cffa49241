package storage

import (
	"context"
	"errors"
	"testing"
)

// Setup is one transaction: a setup that fails at its last statement (here the administrator's
// row, refused by the schema) leaves no profile, no data key and no account behind, and the
// records still need setup (before the fix, a kill after the data key row left an admin who
// could never log in, and setup said "already set up").
func TestSetUpIsOneTransaction(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	bad := Setup{Profile: ClinicProfile{Name: "Trạm Y tế"}, RecoveryWrapped: "w1", Admin: User{Name: "an", Role: "root"}, Hash: "$argon2id$x", Wrapped: "w2"}
	if _, err := s.SetUp(ctx, bad); err == nil {
		t.Fatal("a setup with an impossible role was stored")
	}
	var profiles, keys, users int
	s.db.QueryRow(`SELECT (SELECT count(*) FROM clinic_profile), (SELECT count(*) FROM data_key), (SELECT count(*) FROM users)`).Scan(&profiles, &keys, &users)
	if profiles+keys+users != 0 {
		t.Errorf("a failed setup left %d profile, %d data key and %d account rows", profiles, keys, users)
	}
	if need, err := s.NeedsSetup(ctx); !need || err != nil {
		t.Errorf("after a failed setup: needs setup %v, %v", need, err)
	}
	good := bad
	good.Admin.Role = "admin"
	if _, err := s.SetUp(ctx, good); err != nil {
		t.Fatal(err)
	}
	if need, _ := s.NeedsSetup(ctx); need {
		t.Error("set up, and still needs setup")
	}
	if _, err := s.SetUp(ctx, good); !errors.Is(err, ErrSetUpAlready) {
		t.Errorf("second setup: %v", err)
	}
}

// Records an older version's setup left half done (data key and admin row, no wrapped key: the
// kill -9 of the records-trust issue) need setup, and setting up again replaces the unusable
// rows, with an audit row that says so.
func TestInterruptedSetupIsSetUpAfresh(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.SetRecoveryWrapped(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, User{Name: "an", Role: "admin"}, "$argon2id$old"); err != nil {
		t.Fatal(err)
	}
	if need, _ := s.NeedsSetup(ctx); !need {
		t.Fatal("half set-up records do not need setup: nobody can ever log in")
	}
	id, err := s.SetUp(ctx, Setup{Profile: ClinicProfile{Name: "Trạm Y tế"}, RecoveryWrapped: "new", Admin: User{Name: "an", Role: "admin"}, Hash: "$argon2id$new", Wrapped: "key"})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := s.WrappedKey(ctx, id); w != "key" {
		t.Errorf("wrapped key %q", w)
	}
	if w, _ := s.RecoveryWrapped(ctx); w != "new" {
		t.Errorf("recovery wrapped %q", w)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("%d accounts", n)
	}
	var repaired int
	s.db.QueryRow(`SELECT count(*) FROM audit WHERE entity = 'setup' AND detail LIKE 'an interrupted setup%'`).Scan(&repaired)
	if repaired != 1 {
		t.Error("the repair is not in the audit trail")
	}
}
