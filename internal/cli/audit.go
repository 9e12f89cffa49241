package cli

import (
	"context"
	"errors"
	"fmt"

	"dermal/internal/storage"
)

// runAudit: `audit verify` (and its wider name, `verify`) checks everything a file editor could
// have changed: the schema (append-only triggers), the audit chain and its seals, the trail's
// head kept outside the records on this computer, and every assessment's and referral's seal.
// Each part gets a line; exit 1 names the first fault of each.
func runAudit(env *Env, args []string) error {
	if len(args) != 1 || args[0] != "verify" {
		return fmt.Errorf("%w: audit verify", ErrUsage)
	}
	return runVerify(env, nil)
}

func runVerify(env *Env, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%w: verify takes no arguments", ErrUsage)
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	v := c.Verify(context.Background())
	w := env.Stdout
	line := func(part string, err error, ok string) {
		if err != nil {
			fmt.Fprintf(w, "FAIL  %-8s %v\n", part, err)
		} else {
			fmt.Fprintf(w, "ok    %-8s %s\n", part, ok)
		}
	}
	line("schema", v.Schema, "tables, indexes and append-only triggers as Dermal made them")
	var b *storage.AuditBreak
	auditErr := v.Audit
	if errors.As(auditErr, &b) {
		auditErr = fmt.Errorf("broken after %d intact rows: %w", v.AuditRows, auditErr)
	}
	line("audit", auditErr, fmt.Sprintf("%d rows, each chained to the one before, seals intact", v.AuditRows))
	switch {
	case v.HeadErr != nil:
		line("head", v.HeadErr, "")
	case v.Head == nil:
		fmt.Fprintf(w, "ok    %-8s no head kept on this computer yet (nothing sealed here)\n", "head")
	default:
		line("head", nil, "the trail still reaches the head kept on this computer ("+v.Head.String()+")")
	}
	switch {
	case errors.Is(v.RecordsErr, storage.ErrLocked):
		fmt.Fprintf(w, "skip  %-8s the records' seals need a login (records without staff accounts are not sealed)\n", "records")
	case v.RecordsErr != nil:
		line("records", v.RecordsErr, "")
	case len(v.RecordFault) > 0:
		for _, f := range v.RecordFault {
			fmt.Fprintf(w, "FAIL  %-8s %v\n", "records", f.Err)
		}
	default:
		line("records", nil, fmt.Sprintf("%d assessments and referrals match their seals", v.Records))
	}
	if !v.Intact() && !(errors.Is(v.RecordsErr, storage.ErrLocked) && v.Schema == nil && v.Audit == nil && v.HeadErr == nil) {
		return fmt.Errorf("the records were changed outside Dermal (see the lines above): restore a backup from before, and keep this copy for whoever investigates")
	}
	return nil
}
