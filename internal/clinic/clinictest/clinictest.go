// Package clinictest builds a real Clinic for tests: the shipped model (ONNX Runtime from the
// source tree's lib/, installed by `make deps`) and a fresh database in a temporary folder.
package clinictest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"dermal/internal/assets"
	"dermal/internal/clinic"
	"dermal/internal/inference"
	"dermal/internal/memory"
	"dermal/internal/storage"
	"dermal/internal/watchdog"
)

// Fixtures is the folder of committed HAM10000 test-split photos.
var Fixtures = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "inference", "testdata", "fixtures")
}()

// Fixture is the path of one committed photo, e.g. Fixture("ISIC_0024311.png").
func Fixture(name string) string { return filepath.Join(Fixtures, name) }

// New returns a Clinic with the shipped model and an empty database in t.TempDir(); both are
// closed when the test ends.
func New(t testing.TB) *clinic.Clinic { return newClinic(t, 0) }

// NewGuarded is New with a memory watchdog of the given budget reading this process's memory.
func NewGuarded(t testing.TB, budget uint64) *clinic.Clinic { return newClinic(t, budget) }

func newClinic(t testing.TB, budget uint64) *clinic.Clinic {
	t.Helper()
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		t.Fatal(err)
	}
	eng := inference.NewEngine(m, inference.Options{})
	store, err := clinic.OpenStore(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(); err != nil {
		t.Fatal(err)
	}
	var guard *watchdog.Guard
	if budget > 0 {
		guard = watchdog.NewGuard(watchdog.Policy{Budget: budget, Costs: watchdog.DefaultCosts}, eng, memory.Read, 0,
			slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	c := clinic.New(eng, store, guard)
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Error(err)
		}
		if err := c.Close(); err != nil { // the store open now (a restore replaces it)
			t.Error(err)
		}
	})
	return c
}

// Patient adds a patient and returns it.
func Patient(t testing.TB, c *clinic.Clinic, code, name string) storage.Patient {
	t.Helper()
	ctx := context.Background()
	id, err := c.AddPatient(ctx, storage.Patient{Code: code, FullName: name, Sex: "F", BirthYear: 1961}, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Patient(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Photo reads a committed fixture photo.
func Photo(t testing.TB, name string) *inference.Photo {
	t.Helper()
	p, err := inference.ReadPhotoFile(Fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
