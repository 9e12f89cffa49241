package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"dermal/internal/sealbox"
)

// RecoveryWrapped is the data key wrapped for the recovery key ("" before it was made).
func (s *Store) RecoveryWrapped(ctx context.Context) (string, error) {
	var w string
	err := s.db.QueryRowContext(ctx, `SELECT recovery_wrapped FROM data_key WHERE id = 1`).Scan(&w)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return w, err
}

// SetRecoveryWrapped stores the data key wrapped for the recovery key (once, at setup).
func (s *Store) SetRecoveryWrapped(ctx context.Context, wrapped string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO data_key (id, recovery_wrapped, created_at) VALUES (1, ?, ?)`, wrapped, s.stamp()); err != nil {
			return fmt.Errorf("%w: the data key exists already", ErrInvalid)
		}
		return s.audit(tx, "create", "data key", 1, "recovery key made")
	})
}

// WrappedKey is the data key wrapped for a user's password.
func (s *Store) WrappedKey(ctx context.Context, id UserID) (string, error) {
	var w string
	err := s.db.QueryRowContext(ctx, `SELECT wrapped_key FROM users WHERE id = ?`, id).Scan(&w)
	return w, err
}

// SetWrappedKey stores the data key wrapped for a user's (new) password.
func (s *Store) SetWrappedKey(ctx context.Context, id UserID, wrapped string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE users SET wrapped_key = ? WHERE id = ?`, wrapped, id)
		return err
	})
}

// SealPlainBlobs seals every photo and thumbnail still stored in plain (records from before
// encryption) with the data key, batch rows at a time, each batch in its own transaction:
// killed half-way, the records hold plain and sealed blobs side by side (both read), and the
// next run carries on where it stopped. progress is called after each batch with the count
// sealed so far and the count left; it returns the number sealed.
func (s *Store) SealPlainBlobs(ctx context.Context, batch int, progress func(done, left int)) (int, error) {
	k := s.dataKey()
	if k == nil {
		return 0, ErrLocked
	}
	done := 0
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT sha256, data FROM blobs WHERE substr(data, 1, 4) != CAST(? AS BLOB) LIMIT ?`, sealbox.Magic, batch)
		if err != nil {
			return done, err
		}
		type blob struct {
			sha  string
			data []byte
		}
		var todo []blob
		for rows.Next() {
			var b blob
			if err := rows.Scan(&b.sha, &b.data); err != nil {
				rows.Close()
				return done, err
			}
			todo = append(todo, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, err
		}
		if len(todo) == 0 {
			if done > 0 {
				// The plain photos' old pages: secure_delete zeroed those freed in the
				// database, and the checkpoint moves every sealed page in and empties the
				// WAL, where the plain frames written before were.
				if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
					return done, fmt.Errorf("clearing the plain photos from the journal: %w", err)
				}
			}
			return done, nil
		}
		err = s.write(ctx, func(tx *sql.Tx) error {
			for _, b := range todo {
				if _, err := tx.Exec(`UPDATE blobs SET data = ? WHERE sha256 = ?`, k.Seal(b.data, []byte(b.sha)), b.sha); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += len(todo)
		if progress != nil {
			var left int
			s.db.QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE substr(data, 1, 4) != CAST(? AS BLOB)`, sealbox.Magic).Scan(&left)
			progress(done, left)
		}
		if sealDelay > 0 {
			time.Sleep(sealDelay)
		}
	}
}

// sealDelay slows SealPlainBlobs between batches (the crash test kills it half-way).
var sealDelay time.Duration
