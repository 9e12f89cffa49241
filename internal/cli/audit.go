package cli

import (
	"context"
	"errors"
	"fmt"

	"dermal/internal/storage"
)

// runAudit: audit verify walks the hash-chained trail and names the first broken or missing
// link (exit 1).
func runAudit(env *Env, args []string) error {
	if len(args) != 1 || args[0] != "verify" {
		return fmt.Errorf("%w: audit verify", ErrUsage)
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	n, err := c.VerifyAudit(context.Background())
	var b *storage.AuditBreak
	if errors.As(err, &b) {
		return fmt.Errorf("the audit trail is broken after %d intact rows: %w", n, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "audit trail intact: %d rows, each chained to the one before\n", n)
	return nil
}
