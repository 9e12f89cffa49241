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

// Setup is everything the first setup stores: the clinic's profile, the data key wrapped for the
// recovery key, and the first administrator with the data key wrapped for their password.
type Setup struct {
	Profile         ClinicProfile
	RecoveryWrapped string
	Admin           User
	Hash            string // accounts.Hash of the administrator's password
	Wrapped         string // the data key wrapped for that password
}

// SetUp stores a Setup in one transaction: killed at any instant, the records hold all of it or
// none of it (an admin without a wrapped key could never log in, and setup would say "already
// set up"). Records left half set up by a version before this one — accounts but none holding
// the data key, so nobody can log in and nothing was ever sealed with it — are set up afresh:
// the unusable rows are replaced in the same transaction, and the audit says so.
func (s *Store) SetUp(ctx context.Context, su Setup) (id UserID, err error) {
	if su.Profile.Name, err = FieldClinicName.Clean(su.Profile.Name); err != nil {
		return 0, err
	}
	if su.Profile.Address, err = FieldAddress.Clean(su.Profile.Address); err != nil {
		return 0, err
	}
	if su.Profile.Phone, err = FieldPhone.Clean(su.Profile.Phone); err != nil {
		return 0, err
	}
	if su.Admin.Name, err = FieldUserName.Clean(su.Admin.Name); err != nil {
		return 0, err
	}
	if su.Admin.FullName, err = FieldFullName.Clean(su.Admin.FullName); err != nil {
		return 0, err
	}
	if su.RecoveryWrapped == "" || su.Wrapped == "" || su.Hash == "" {
		return 0, fmt.Errorf("%w: setup without its keys", ErrInvalid)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var users, holders int
		if err := tx.QueryRow(`SELECT count(*), count(*) FILTER (WHERE wrapped_key != '') FROM users`).Scan(&users, &holders); err != nil {
			return err
		}
		if holders > 0 {
			return ErrSetUpAlready
		}
		if users > 0 {
			// An interrupted setup of an older version: nobody can log in with these rows.
			if _, err := tx.Exec(`DELETE FROM users`); err != nil {
				return err
			}
			if _, err := tx.Exec(`DELETE FROM data_key`); err != nil {
				return err
			}
			if err := s.audit(tx, "delete", "setup", 0, fmt.Sprintf("an interrupted setup left %d account(s) without the data key; set up afresh", users)); err != nil {
				return err
			}
		}
		now := s.stamp()
		p := su.Profile
		if _, err := tx.Exec(`INSERT INTO clinic_profile (id, name, address, phone, updated_at) VALUES (1, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, phone = excluded.phone, updated_at = excluded.updated_at`,
			p.Name, p.Address, p.Phone, now); err != nil {
			return err
		}
		if err := s.audit(tx, "update", "clinic", 1, p.Name); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO data_key (id, recovery_wrapped, created_at) VALUES (1, ?, ?)`, su.RecoveryWrapped, now); err != nil {
			return err
		}
		if err := s.audit(tx, "create", "data key", 1, "recovery key made"); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO users (name, full_name, role, pw_hash, wrapped_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			su.Admin.Name, su.Admin.FullName, su.Admin.Role, su.Hash, su.Wrapped, now, now)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		n, _ := res.LastInsertId()
		id = UserID(n)
		return s.audit(tx, "create", "user", n, su.Admin.Name+" ("+su.Admin.Role+")")
	})
	return id, err
}

// ErrSetUpAlready means the records have an account that can log in: setup was done.
var ErrSetUpAlready = errors.New("the records are set up already")

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
// next run carries on. It walks the blobs once in sha256 order (a cursor, not a search for
// plain ones per batch, which would read every photo again for each batch of 300,000).
// progress is called after each batch with the count sealed and the count not yet looked at;
// it returns the number sealed.
func (s *Store) SealPlainBlobs(ctx context.Context, batch int, progress func(done, left int)) (int, error) {
	k := s.dataKey()
	if k == nil {
		return 0, ErrLocked
	}
	var finished int
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT photos_sealed FROM data_key WHERE id = 1), 0)`).Scan(&finished); err != nil {
		return 0, err
	}
	if finished == 1 {
		return 0, nil // sealed before; every photo since was sealed as it was stored
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&total); err != nil {
		return 0, err
	}
	done, seen, after := 0, 0, ""
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT sha256, data FROM blobs WHERE sha256 > ? ORDER BY sha256 LIMIT ?`, after, batch)
		if err != nil {
			return done, err
		}
		type blob struct {
			sha  string
			data []byte
		}
		var todo []blob
		n := 0
		for rows.Next() {
			var b blob
			if err := rows.Scan(&b.sha, &b.data); err != nil {
				rows.Close()
				return done, err
			}
			n++
			after = b.sha
			if !sealbox.Sealed(b.data) {
				todo = append(todo, b)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, err
		}
		if n == 0 {
			if _, err := s.db.ExecContext(ctx, `UPDATE data_key SET photos_sealed = 1 WHERE id = 1`); err != nil {
				return done, err
			}
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
		seen += n
		if len(todo) == 0 {
			continue
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
			progress(done, max(0, total-seen))
		}
		if sealDelay > 0 {
			time.Sleep(sealDelay)
		}
	}
}

// sealDelay slows SealPlainBlobs between batches (the crash test kills it half-way).
var sealDelay time.Duration
