package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The audit trail's head, kept outside the records. Seals stop a file editor from rewriting
// rows, but not from cutting rows off the end of the trail: whatever is left still verifies.
// So after each commit that wrote a sealed row, the process keeps that row's number and hash
// in the user's own configuration folder (not the data folder), and backups print it; a trail
// that no longer reaches the kept row, or has another row there, was cut or rewritten.

// AuditHead is one audit row's number and chain hash.
type AuditHead struct {
	Row  int64  `json:"row"`
	Hash string `json:"hash"`
	// Records is the records file the head belongs to (for the person who finds the file).
	Records string `json:"records,omitempty"`
}

func (h AuditHead) String() string { return fmt.Sprintf("row %d, %.16s", h.Row, h.Hash) }

// anchorDir is where heads are kept: DERMAL_ANCHOR_DIR, else the user's configuration folder.
func anchorDir() (string, error) {
	if d := os.Getenv("DERMAL_ANCHOR_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "dermal", "anchors"), nil
}

// anchorPath is the file that keeps the head of the records at path.
func anchorPath(path string) (string, error) {
	dir, err := anchorDir()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".json"), nil
}

func readAnchor(path string) (*AuditHead, string, error) {
	ap, err := anchorPath(path)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(ap)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ap, nil
	}
	if err != nil {
		return nil, ap, err
	}
	var h AuditHead
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, ap, fmt.Errorf("the audit head kept at %s is unreadable: %w", ap, err)
	}
	return &h, ap, nil
}

// keepHead writes the head this process last sealed, unless the kept one is later (another
// process wrote after it). A failure loses only the guard, never the records' write.
func (s *Store) keepHead() {
	s.headMu.Lock()
	h := s.head
	s.head = nil
	s.headMu.Unlock()
	if h == nil {
		return
	}
	kept, ap, err := readAnchor(s.path)
	if err != nil || (kept != nil && kept.Row > h.Row) {
		return
	}
	h.Records, _ = filepath.Abs(s.path)
	b, _ := json.Marshal(h)
	if err := os.MkdirAll(filepath.Dir(ap), 0o700); err != nil {
		return
	}
	tmp := ap + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		os.Rename(tmp, ap)
	}
}

// forgetHead drops the kept head: after a restore the records are another trail.
func forgetHead(path string) {
	if ap, err := anchorPath(path); err == nil {
		os.Remove(ap)
	}
}

// LastSealedHead is the trail's last sealed row (nil when none is sealed).
func (s *Store) LastSealedHead(ctx context.Context) (*AuditHead, error) {
	var h AuditHead
	err := s.db.QueryRowContext(ctx, `SELECT id, hash FROM audit WHERE seal != '' ORDER BY id DESC LIMIT 1`).Scan(&h.Row, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &h, err
}

// VerifyHead compares the trail with the head kept outside the records: it returns the kept
// head (nil when none is kept here: another computer, or nothing sealed yet) and an
// *AuditBreak when the trail was cut short or rewritten at or before it.
func (s *Store) VerifyHead(ctx context.Context) (*AuditHead, error) {
	kept, ap, err := readAnchor(s.path)
	if err != nil || kept == nil {
		return nil, err
	}
	var hash string
	err = s.db.QueryRowContext(ctx, `SELECT hash FROM audit WHERE id = ?`, kept.Row).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		var last int64
		s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM audit`).Scan(&last)
		return kept, &AuditBreak{Row: last + 1, Reason: fmt.Sprintf("the trail ends at row %d, but this computer saw it reach row %d (%s): rows were cut off its end", last, kept.Row, ap)}
	}
	if err != nil {
		return kept, err
	}
	if hash != kept.Hash {
		return kept, &AuditBreak{Row: kept.Row, Reason: fmt.Sprintf("it differs from the row this computer saw written (%s): the trail was rewritten", ap)}
	}
	return kept, nil
}
