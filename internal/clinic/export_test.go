package clinic

import (
	"dermal/internal/inference"
	"dermal/internal/storage"
)

// Test-only access for the package's own external tests.

// WithEngine is a clinic on the same records with another engine (another model version).
func WithEngine(c *Clinic, e *inference.Engine) *Clinic { return &Clinic{engine: e, store: c.store} }

// StoreOf is the clinic's open store.
func StoreOf(c *Clinic) *storage.Store { return c.store }
