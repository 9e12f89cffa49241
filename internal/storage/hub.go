package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The district hub: its settings, and the outbox of referrals to send there. The outbox keeps,
// for each referral, the SOP instances the hub has acknowledged: a sync resumes after the last
// of them, and a study is "sent" only once the hub acknowledged every instance.

// HubSettings are where the district hub is and how to log in to it.
type HubSettings struct {
	URL      string
	User     string
	Password string // plain here; sealed with the data key in the records
	CACert   string // PEM of the district's certificate authority ("" : the system's)
	// LastReplyCheck is when the replies were last looked for (nil: never).
	LastReplyCheck *time.Time
}

// ErrNoHub means no hub is set.
var ErrNoHub = errors.New("no district hub is set (dermal hub set, or Settings)")

// SetHub stores the hub's settings, the password sealed with the data key.
func (s *Store) SetHub(ctx context.Context, h HubSettings) error {
	k := s.dataKey()
	if k == nil {
		return fmt.Errorf("%w: the hub's password is kept sealed with the records' key: log in with a staff account", ErrLocked)
	}
	sealed := k.Seal([]byte(h.Password), []byte("hub password"))
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO hub_settings (id, url, user, password_sealed, ca_cert, updated_at) VALUES (1, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET url = excluded.url, user = excluded.user, password_sealed = excluded.password_sealed,
			ca_cert = excluded.ca_cert, updated_at = excluded.updated_at`,
			h.URL, h.User, sealed, h.CACert, s.now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		return s.audit(tx, "update", "hub", 1, fmt.Sprintf("%s as %s", h.URL, h.User))
	})
}

// Hub reads the hub's settings (ErrNoHub when none is set).
func (s *Store) Hub(ctx context.Context) (HubSettings, error) {
	var h HubSettings
	var sealed []byte
	var check sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT url, user, password_sealed, ca_cert, last_reply_check FROM hub_settings WHERE id = 1`).
		Scan(&h.URL, &h.User, &sealed, &h.CACert, &check)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNoHub
	}
	if err != nil {
		return h, err
	}
	k := s.dataKey()
	if k == nil {
		return h, fmt.Errorf("%w: the hub's password is sealed with the records' key: log in with a staff account", ErrLocked)
	}
	pw, err := k.Open(sealed, []byte("hub password"))
	if err != nil {
		return h, fmt.Errorf("%w: the hub's password does not open with the records' key (set it again: dermal hub set)", ErrCorrupt)
	}
	h.Password = string(pw)
	if t, err := time.Parse(time.RFC3339, check.String); err == nil {
		h.LastReplyCheck = &t
	}
	return h, nil
}

// SetLastReplyCheck records when the replies were last looked for.
func (s *Store) SetLastReplyCheck(ctx context.Context, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE hub_settings SET last_reply_check = ? WHERE id = 1`, at.UTC().Format(time.RFC3339))
		return err
	})
}

// OutboxItem is one referral in the outbox.
type OutboxItem struct {
	ID           int64
	ReferralID   ReferralID
	AssessmentID AssessmentID
	Language     string
	QueuedAt     time.Time
	StudyUID     string
	Acknowledged []string // SOP instance UIDs the hub stored
	Attempts     int
	NextTry      *time.Time
	LastError    string
	SentAt       *time.Time
	ReplyAt      *time.Time
	// Patient and tier, for the status list.
	PatientCode string
	Tier        string
}

// QueueReferral puts a referral in the outbox (once: queuing it again does nothing), with the
// letter as it was printed (nil: none kept; it is written again from the records when sent),
// sealed with the data key. Sending then needs no decode of the photo.
func (s *Store) QueueReferral(ctx context.Context, id ReferralID, language string, letter, gradcam []byte) error {
	seal := func(b []byte, what string) ([]byte, error) {
		if b == nil {
			return nil, nil
		}
		k := s.dataKey()
		if k == nil {
			return nil, fmt.Errorf("%w: the queued referral's files are kept sealed with the records' key: log in with a staff account", ErrLocked)
		}
		return k.Seal(b, []byte(fmt.Sprintf("hub %s %d", what, id))), nil
	}
	sealedLetter, err := seal(letter, "letter")
	if err != nil {
		return err
	}
	sealedMap, err := seal(gradcam, "gradcam")
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO hub_outbox (referral_id, language, queued_at, letter, gradcam) VALUES (?, ?, ?, ?, ?) ON CONFLICT (referral_id) DO NOTHING`,
			id, language, s.now().UTC().Format(time.RFC3339Nano), sealedLetter, sealedMap)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.audit(tx, "create", "outbox", int64(id), "referral queued for the district hub")
	})
}

const outboxColumns = `o.id, o.referral_id, r.assessment_id, o.language, o.queued_at, o.study_uid, o.acknowledged, o.attempts,
	coalesce(o.next_try, ''), o.last_error, coalesce(o.sent_at, ''), coalesce(o.reply_at, ''), p.code, r.urgency`

const outboxFrom = ` FROM hub_outbox o JOIN referrals r ON r.id = o.referral_id JOIN assessments a ON a.id = r.assessment_id
	JOIN lesions l ON l.id = a.lesion_id JOIN patients p ON p.id = l.patient_id`

func scanOutbox(rows *sql.Rows) ([]OutboxItem, error) {
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var queued, ack, next, sent, reply string
		if err := rows.Scan(&it.ID, &it.ReferralID, &it.AssessmentID, &it.Language, &queued, &it.StudyUID, &ack, &it.Attempts,
			&next, &it.LastError, &sent, &reply, &it.PatientCode, &it.Tier); err != nil {
			return nil, err
		}
		it.QueuedAt, _ = time.Parse(time.RFC3339Nano, queued)
		if ack != "" {
			it.Acknowledged = strings.Split(ack, "\n")
		}
		for _, f := range []struct {
			text string
			to   **time.Time
		}{{next, &it.NextTry}, {sent, &it.SentAt}, {reply, &it.ReplyAt}} {
			if t, err := time.Parse(time.RFC3339Nano, f.text); err == nil {
				*f.to = &t
			}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Outbox lists the outbox, oldest first: unsent only, or all.
func (s *Store) Outbox(ctx context.Context, unsentOnly bool) ([]OutboxItem, error) {
	where := ""
	if unsentOnly {
		where = ` WHERE o.sent_at IS NULL`
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+outboxFrom+where+` ORDER BY o.id`)
	if err != nil {
		return nil, err
	}
	return scanOutbox(rows)
}

// AwaitingReply lists the referrals the hub holds whole and no reply has come for.
func (s *Store) AwaitingReply(ctx context.Context) ([]OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+outboxFrom+` WHERE o.sent_at IS NOT NULL AND o.reply_at IS NULL AND o.study_uid != '' ORDER BY o.id`)
	if err != nil {
		return nil, err
	}
	return scanOutbox(rows)
}

// OutboxByStudy finds the outbox item of a study (ErrNotFound when this clinic never sent it).
func (s *Store) OutboxByStudy(ctx context.Context, studyUID string) (OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+outboxFrom+` WHERE o.study_uid = ? AND o.study_uid != ''`, studyUID)
	if err != nil {
		return OutboxItem{}, err
	}
	items, err := scanOutbox(rows)
	if err != nil {
		return OutboxItem{}, err
	}
	if len(items) == 0 {
		return OutboxItem{}, fmt.Errorf("%w: study %s", ErrNotFound, studyUID)
	}
	return items[0], nil
}

// Acknowledge records that the hub stored an instance of an outbox item's study, at once and
// durably: a sync killed after it does not send it again.
func (s *Store) Acknowledge(ctx context.Context, item int64, studyUID, instance string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE hub_outbox SET study_uid = ?, acknowledged = CASE WHEN acknowledged = '' THEN ? ELSE acknowledged || char(10) || ? END,
			last_error = '' WHERE id = ? AND instr(char(10) || acknowledged || char(10), char(10) || ? || char(10)) = 0`,
			studyUID, instance, instance, item, instance)
		return err
	})
}

// MarkSent records that the hub acknowledged every instance of an outbox item's study.
func (s *Store) MarkSent(ctx context.Context, item int64, studyUID string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE hub_outbox SET sent_at = ?, study_uid = ?, last_error = '', next_try = NULL WHERE id = ?`,
			s.now().UTC().Format(time.RFC3339Nano), studyUID, item); err != nil {
			return err
		}
		return s.audit(tx, "export", "outbox", item, "study "+studyUID+" sent to the district hub")
	})
}

// MarkFailed records a failed try and when to try again.
func (s *Store) MarkFailed(ctx context.Context, item int64, reason string, next time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE hub_outbox SET attempts = attempts + 1, last_error = ?, next_try = ? WHERE id = ?`,
			reason, next.UTC().Format(time.RFC3339Nano), item)
		return err
	})
}

// MarkReplied records that the specialist's reply to an outbox item came back.
func (s *Store) MarkReplied(ctx context.Context, item int64, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE hub_outbox SET reply_at = ? WHERE id = ?`, at.UTC().Format(time.RFC3339Nano), item)
		return err
	})
}

// Where a referral stands with the hub (WorkItem.Hub).
const (
	HubQueued = "queued"
	HubSent   = "sent"
	HubFailed = "failed"
)

// HubStates says where the latest queued referral of each assessment stands with the hub.
func (s *Store) HubStates(ctx context.Context, ids []AssessmentID) (map[AssessmentID]OutboxItem, error) {
	out := map[AssessmentID]OutboxItem{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+outboxFrom+` WHERE r.assessment_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY o.id`, args...)
	if err != nil {
		return nil, err
	}
	items, err := scanOutbox(rows)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		out[it.AssessmentID] = it
	}
	return out, nil
}

// OutboxFiles are the letter and the Grad-CAM map kept with an outbox item, opened (nil
// where none was kept).
func (s *Store) OutboxFiles(ctx context.Context, item int64) (letter, gradcam []byte, err error) {
	var sealedLetter, sealedMap []byte
	var ref ReferralID
	if err := s.db.QueryRowContext(ctx, `SELECT referral_id, letter, gradcam FROM hub_outbox WHERE id = ?`, item).Scan(&ref, &sealedLetter, &sealedMap); err != nil {
		return nil, nil, err
	}
	open := func(sealed []byte, what string) ([]byte, error) {
		if sealed == nil {
			return nil, nil
		}
		k := s.dataKey()
		if k == nil {
			return nil, ErrLocked
		}
		b, err := k.Open(sealed, []byte(fmt.Sprintf("hub %s %d", what, ref)))
		if err != nil {
			return nil, fmt.Errorf("%w: the queued %s of referral %d does not open with the records' key", ErrTampered, what, ref)
		}
		return b, nil
	}
	if letter, err = open(sealedLetter, "letter"); err != nil {
		return nil, nil, err
	}
	gradcam, err = open(sealedMap, "gradcam")
	return letter, gradcam, err
}
