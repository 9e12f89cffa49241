package storage

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
// encryption) with the data key, and renames every blob still named by its plain SHA-256 to
// its keyed name (BlobName), batch blobs at a time, each batch in its own transaction: killed
// half-way, the records hold old and new blobs side by side (both read), and the next run
// carries on. A renamed blob's assessments follow it in the same transaction and are sealed
// again, but only those whose seal held before: a rename never makes a tampered record look
// whole. It walks the old names once in order (a cursor, not a search per batch, which would
// read every photo again for each batch of 300,000). progress is called after each batch with
// the count done and the count not yet looked at; it returns the number done.
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
		return 0, nil // sealed before; every photo since was sealed and named as it was stored
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE sha256 < ?`, keyedPrefix).Scan(&total); err != nil {
		return 0, err
	}
	done, seen, after := 0, 0, ""
	for {
		// Plain names are hex and sort before keyedPrefix: the renamed ones are not read again.
		rows, err := s.db.QueryContext(ctx, `SELECT sha256, data FROM blobs WHERE sha256 > ? AND sha256 < ? ORDER BY sha256 LIMIT ?`, after, keyedPrefix, batch)
		if err != nil {
			return done, err
		}
		type blob struct {
			name string
			data []byte
		}
		var todo []blob
		for rows.Next() {
			var b blob
			if err := rows.Scan(&b.name, &b.data); err != nil {
				rows.Close()
				return done, err
			}
			after = b.name
			todo = append(todo, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, err
		}
		if len(todo) == 0 {
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
		seen += len(todo)
		err = s.write(ctx, func(tx *sql.Tx) error {
			for _, b := range todo {
				if err := s.renameBlob(tx, k, b.name, b.data); err != nil {
					return fmt.Errorf("photo %s: %w", b.name, err)
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

// renameBlob stores blob old (data as stored) sealed under its keyed name, moves the
// assessments that link it there, and removes the old one.
func (s *Store) renameBlob(tx *sql.Tx, k *sealbox.Key, old string, data []byte) error {
	plain := data
	if sealbox.Sealed(data) {
		var err error
		if plain, err = k.Open(data, []byte(old)); err != nil {
			return err
		}
	}
	if plainName(plain) != old {
		return fmt.Errorf("damaged: its content no longer matches its checksum")
	}
	name := s.BlobName(plain)
	if _, err := tx.Exec(`INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING`, name, len(plain), k.Seal(plain, []byte(name))); err != nil {
		return err
	}
	// Which of the linking assessments hold their seal now (before the link changes).
	key := s.sealKey("records")
	rows, err := tx.Query(`SELECT a.id, a.seal, `+assessmentSealInput+` FROM assessments a JOIN lesions l ON l.id = a.lesion_id
		WHERE a.photo_sha256 = ?1 OR a.thumb_sha256 = ?1`, old)
	if err != nil {
		return err
	}
	var whole []string
	for rows.Next() {
		var id int64
		var seal, in string
		if err := rows.Scan(&id, &seal, &in); err != nil {
			rows.Close()
			return err
		}
		if seal == "" || hmac.Equal([]byte(seal), []byte(mac(key, in))) {
			whole = append(whole, fmt.Sprint(id))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, col := range []string{"photo_sha256", "thumb_sha256"} {
		if _, err := tx.Exec(`UPDATE assessments SET `+col+` = ? WHERE `+col+` = ?`, name, old); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`DELETE FROM blobs WHERE sha256 = ?`, old); err != nil {
		return err
	}
	if len(whole) == 0 {
		return nil
	}
	// An unsealed one (seal "") is sealed here only if the records were never sealed (an
	// upgrade before its first sealing); otherwise it stays as it was found, unsealed.
	where := `a.id IN (` + strings.Join(whole, ",") + `) AND (a.seal != '' OR NOT EXISTS (SELECT 1 FROM data_key WHERE records_sealed = 1))`
	return s.sealAssessments(tx, where)
}

// sealDelay slows SealPlainBlobs between batches (the crash test kills it half-way).
var sealDelay time.Duration
