package clinic_test

import (
	"context"
	"testing"

	"dermal/internal/accounts"
	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// BenchmarkLogin is a login with the shipped costs (64 MiB × 3 passes): the argon2id check of the password and
// the unwrapping of the data key with the key the same argon2id run gives. Target ≤ 1 s.
func BenchmarkLogin(b *testing.B) {
	c := clinictest.New(b)
	c.SetHashParams(accounts.Default)
	ctx := context.Background()
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm"}, "admin", "", "admin password"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
			b.Fatal(err)
		}
	}
}
