package clinic

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"dermal/internal/accounts"
	"dermal/internal/sealbox"
	"dermal/internal/storage"
)

// User is a staff account.
type User = storage.User

// UserID is an account's record id.
type UserID = storage.UserID

// Roles.
const (
	RoleAdmin     = accounts.Admin
	RoleClinician = accounts.Clinician
	// RoleSpecialist is a district specialist's: the window opens on the hub's inbox.
	RoleSpecialist = accounts.Specialist
)

// Errors of accounts.
var (
	ErrNotAllowed   = errors.New("not allowed for this account")
	ErrLogin        = errors.New("wrong user name or password")
	ErrNotSetUp     = errors.New("this clinic is not set up")
	ErrAlreadySetUp = errors.New("this clinic is already set up")
)

// LoginDelayError means too many wrong passwords: the next try must wait.
type LoginDelayError struct{ Wait time.Duration }

func (e *LoginDelayError) Error() string {
	return fmt.Sprintf("too many wrong passwords: wait %s before the next try", e.Wait.Round(time.Second))
}

// hashParams are the argon2id costs (tests use cheaper ones through SetHashParams).
func (c *Clinic) hashParams() accounts.Params {
	if c.params != nil {
		return *c.params
	}
	return accounts.Default
}

// SetHashParams changes the argon2id costs of new hashes (tests).
func (c *Clinic) SetHashParams(p accounts.Params) { c.params = &p }

// NeedsSetup reports whether no staff account can log in yet: none exists, or an older
// version's setup was interrupted before the administrator held the data key.
func (c *Clinic) NeedsSetup(ctx context.Context) (bool, error) {
	return c.store.NeedsSetup(ctx)
}

// SetupInterrupted reports records with staff accounts of which none can log in (an older
// version's setup killed half-way): nothing may be read or written in them before setup is run
// again, which replaces those accounts.
func (c *Clinic) SetupInterrupted(ctx context.Context) (bool, error) {
	need, err := c.store.NeedsSetup(ctx)
	if err != nil || !need {
		return false, err
	}
	n, err := c.store.CountUsers(ctx)
	return n > 0, err
}

// Setup makes the clinic's profile, its first admin account and the clinic's data key, and
// returns the recovery key: shown once, to be printed and kept (it is the emergency access
// to the encrypted photos when every password is lost). Refused once done. Photos already in
// the records are sealed at the admin's first login (SealStoredPhotos).
func (c *Clinic) Setup(ctx context.Context, profile ClinicProfile, admin, fullName, password string) (recovery string, err error) {
	return c.SetupShowing(ctx, profile, admin, fullName, password, nil)
}

// SetupShowing is Setup with show called with the recovery key before anything is stored: the
// command line prints it there, so that no records ever depend on a key nobody was shown (a
// kill between the commit and the printing would leave exactly that). An error from show
// stores nothing. Everything is stored in one transaction (storage.SetUp): a kill at any
// instant leaves the records set up, or not at all and ready for setup again.
func (c *Clinic) SetupShowing(ctx context.Context, profile ClinicProfile, admin, fullName, password string, show func(recovery string) error) (recovery string, err error) {
	p, err := c.PrepareSetup(ctx, profile, admin, fullName, password)
	if err != nil {
		return "", err
	}
	if show != nil {
		if err := show(p.RecoveryKey()); err != nil {
			return "", err
		}
	}
	return p.RecoveryKey(), p.Commit(ctx)
}

// PendingSetup is a setup made and not yet stored: its recovery key is shown first (the window
// waits for "I have written it down"), and only Commit stores it. Dropped, it leaves nothing.
type PendingSetup struct {
	c        *Clinic
	su       storage.Setup
	recovery string
}

// RecoveryKey is the key to show, once, before Commit.
func (p *PendingSetup) RecoveryKey() string { return p.recovery }

// Commit stores the setup in one transaction.
func (p *PendingSetup) Commit(ctx context.Context) error {
	_, err := p.c.store.SetUp(ctx, p.su)
	if errors.Is(err, storage.ErrSetUpAlready) {
		return ErrAlreadySetUp
	}
	return err
}

// PrepareSetup checks a setup and makes its keys (the data key, the recovery key, the
// administrator's password hash and wrapped key) without storing anything.
func (c *Clinic) PrepareSetup(ctx context.Context, profile ClinicProfile, admin, fullName, password string) (*PendingSetup, error) {
	if need, err := c.NeedsSetup(ctx); err != nil {
		return nil, err
	} else if !need {
		return nil, ErrAlreadySetUp
	}
	if profile.Name == "" {
		return nil, fmt.Errorf("%w: the clinic's name is needed", storage.ErrInvalid)
	}
	if err := accounts.CheckPassword(password); err != nil {
		return nil, fmt.Errorf("%w: %v", storage.ErrInvalid, err)
	}
	key, err := sealbox.NewKey()
	if err != nil {
		return nil, err
	}
	recovery, err := sealbox.NewRecoveryKey()
	if err != nil {
		return nil, err
	}
	recoveryWrapped, err := key.WrapWithRecovery(recovery)
	if err != nil {
		return nil, err
	}
	hash, wk, err := accounts.Hash(password, c.hashParams())
	if err != nil {
		return nil, err
	}
	return &PendingSetup{c: c, recovery: recovery, su: storage.Setup{Profile: profile, RecoveryWrapped: recoveryWrapped,
		Admin: storage.User{Name: admin, FullName: fullName, Role: accounts.Admin}, Hash: hash, Wrapped: key.WrapWith(wk)}}, nil
}

// SealStoredPhotos seals the photos still stored in plain (records from before encryption),
// resumably; progress gets the count done and left after each batch.
func (c *Clinic) SealStoredPhotos(ctx context.Context, progress func(done, left int)) (int, error) {
	return c.store.SealPlainBlobs(ctx, 50, progress)
}

// Login checks a user's password. Wrong passwords in a row make the next try wait longer
// (accounts.Delay), also across restarts; a disabled account cannot log in. On success
// every change after it is recorded under that user.
func (c *Clinic) Login(ctx context.Context, name, password string) (User, error) {
	u, err := c.store.UserByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		// The same answer, about the same time and the same waits as a wrong password: no
		// hint which names exist; the name tried is in the audit trail.
		wait, err := c.store.BeginLoginUnknown(ctx, name, time.Now(), accounts.Delay)
		if err != nil {
			return User{}, err
		}
		if wait > 0 {
			return User{}, &LoginDelayError{Wait: wait}
		}
		accounts.Hash(password, c.hashParams()) //nolint:errcheck // only its time matters
		debug.FreeOSMemory()
		if err := c.store.LoginFailedUnknown(ctx, name); err != nil {
			return User{}, err
		}
		return User{}, ErrLogin
	}
	if err != nil {
		return User{}, err
	}
	// The attempt is counted before the password is checked, in one transaction with the
	// check of the wait: parallel attempts cannot all read the same count.
	wait, err := c.store.BeginLogin(ctx, u.ID, time.Now(), accounts.Delay)
	if err != nil {
		return User{}, err
	}
	if wait > 0 {
		return User{}, &LoginDelayError{Wait: wait}
	}
	ok, wk, err := accounts.Verify(u.Hash(), password)
	// argon2id just used 64 MiB: give it back to the system rather than keep it beside the
	// model for the rest of the session.
	debug.FreeOSMemory()
	if err != nil {
		return User{}, err
	}
	if !ok || u.Disabled {
		if err := c.store.LoginFailed(ctx, u.ID); err != nil {
			return User{}, err
		}
		// A disabled account gets the wrong password's answer: "disabled" after the right
		// password would confirm it to whoever is guessing.
		return User{}, ErrLogin
	}
	wrapped, err := c.store.WrappedKey(ctx, u.ID)
	if err != nil {
		return User{}, err
	}
	key, err := sealbox.UnwrapWith(wrapped, wk)
	if err != nil {
		return User{}, fmt.Errorf("the account's copy of the clinic's data key does not open (%v); reset the password with the recovery key", err)
	}
	// The login row is written under the user who logged in (it named the one before), and
	// sealed with the key just opened.
	c.store.SetDataKey(key)
	c.store.SetActor(u.Name)
	if err := c.store.LoginSucceeded(ctx, u.ID); err != nil {
		c.store.SetDataKey(nil)
		return User{}, err
	}
	c.userMu.Lock()
	c.user = &u
	c.userMu.Unlock()
	c.lockMinutes.Store(0) // read from the records again: another window may have changed it
	// Records from before seals are sealed once, at the first login that can (seal.go).
	if err := c.store.SealRecords(ctx); err != nil {
		return User{}, fmt.Errorf("sealing the records: %w", err)
	}
	return u, nil
}

// CurrentUser is who is logged in (nil: nobody, or records from before staff accounts).
func (c *Clinic) CurrentUser() *User {
	c.userMu.Lock()
	defer c.userMu.Unlock()
	return c.user
}

// requireAdmin refuses an action that is an administrator's when a clinician is logged in.
// Records without accounts (before setup) keep working as before.
func (c *Clinic) requireAdmin(what string) error {
	u := c.CurrentUser()
	if u == nil {
		if n, err := c.store.CountUsers(context.Background()); err != nil || n > 0 {
			return fmt.Errorf("%w: %s needs an administrator to log in", ErrNotAllowed, what)
		}
		return nil
	}
	if u.Role != accounts.Admin {
		return fmt.Errorf("%w: %s is an administrator's; %s is a %s", ErrNotAllowed, what, u.Name, u.Role)
	}
	return nil
}

// AddUser creates an account (administrators only).
func (c *Clinic) AddUser(ctx context.Context, name, fullName, role, password string) error {
	if err := c.requireAdmin("adding an account"); err != nil {
		return err
	}
	if !accounts.ValidRole(role) {
		return fmt.Errorf("%w: role %q is not admin or clinician", storage.ErrInvalid, role)
	}
	if err := accounts.CheckPassword(password); err != nil {
		return fmt.Errorf("%w: %v", storage.ErrInvalid, err)
	}
	key := c.store.DataKey()
	if key == nil {
		return fmt.Errorf("%w: log in first", storage.ErrLocked)
	}
	hash, wk, err := accounts.Hash(password, c.hashParams())
	if err != nil {
		return err
	}
	wrapped := key.WrapWith(wk)
	id, err := c.store.AddUser(ctx, storage.User{Name: name, FullName: fullName, Role: role}, hash)
	if err != nil {
		return err
	}
	return c.store.SetWrappedKey(ctx, id, wrapped)
}

// Users lists the accounts (administrators only).
func (c *Clinic) Users(ctx context.Context) ([]User, error) {
	if err := c.requireAdmin("listing the accounts"); err != nil {
		return nil, err
	}
	return c.store.Users(ctx)
}

// SetDisabled disables or enables an account (administrators only; not their own).
func (c *Clinic) SetDisabled(ctx context.Context, name string, disabled bool) error {
	if err := c.requireAdmin("disabling an account"); err != nil {
		return err
	}
	u, err := c.store.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if me := c.CurrentUser(); me != nil && me.ID == u.ID && disabled {
		return fmt.Errorf("%w: an administrator cannot disable their own account", ErrNotAllowed)
	}
	return c.store.SetDisabled(ctx, u.ID, disabled)
}

// SetPassword sets an account's password: an administrator's reset of anyone's, or the
// logged-in user's own change.
func (c *Clinic) SetPassword(ctx context.Context, name, password string) error {
	u, err := c.store.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if me := c.CurrentUser(); me == nil || me.ID != u.ID {
		if err := c.requireAdmin("resetting another account's password"); err != nil {
			return err
		}
	}
	if err := accounts.CheckPassword(password); err != nil {
		return fmt.Errorf("%w: %v", storage.ErrInvalid, err)
	}
	key := c.store.DataKey()
	if key == nil {
		return fmt.Errorf("%w: log in first", storage.ErrLocked)
	}
	return c.setPassword(ctx, u, key, password)
}

func (c *Clinic) setPassword(ctx context.Context, u User, key *sealbox.Key, password string) error {
	hash, wk, err := accounts.Hash(password, c.hashParams())
	if err != nil {
		return err
	}
	wrapped := key.WrapWith(wk)
	if err := c.store.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	return c.store.SetWrappedKey(ctx, u.ID, wrapped)
}

// RecoverAccount sets a new password for an account with the recovery key (every password
// lost): the emergency access.
func (c *Clinic) RecoverAccount(ctx context.Context, name, recovery, password string) error {
	u, err := c.store.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if err := accounts.CheckPassword(password); err != nil {
		return fmt.Errorf("%w: %v", storage.ErrInvalid, err)
	}
	wrapped, err := c.store.RecoveryWrapped(ctx)
	if err != nil {
		return err
	}
	key, err := sealbox.UnwrapWithRecovery(wrapped, recovery)
	if err != nil {
		return fmt.Errorf("%w: the recovery key does not open the clinic's data key", ErrLogin)
	}
	return c.setPassword(ctx, u, key, password)
}

// assessor is how an assessment names who saved it.
func (c *Clinic) assessor() string {
	u := c.CurrentUser()
	if u == nil {
		return ""
	}
	if u.FullName != "" {
		return u.FullName
	}
	return u.Name
}

// MayRestore says whether the logged-in user may replace the records with a backup.
func (c *Clinic) MayRestore() error { return c.requireAdmin("restoring a backup") }

// AuditFilter selects audit rows (by user, patient, date).
type AuditFilter = storage.AuditFilter

// QueryAudit lists audit rows for an administrator, newest first.
func (c *Clinic) QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if err := c.requireAdmin("reading the audit trail"); err != nil {
		return nil, err
	}
	return c.store.QueryAudit(ctx, f)
}

// ExportAudit writes every audit row the filter selects (no limit) to path as CSV for a
// spreadsheet, and records the export in the trail. The file starts with a UTF-8 byte order mark
// (Excel on Windows otherwise garbles Vietnamese), a cell that a spreadsheet would run as a
// formula (=, +, -, @, tab, carriage return first) is written with a leading apostrophe, and the
// file is written whole or not at all, readable by its owner only.
func (c *Clinic) ExportAudit(ctx context.Context, f AuditFilter, path string) (rows int, err error) {
	if err := c.requireAdmin("exporting the audit trail"); err != nil {
		return 0, err
	}
	f.Limit = -1
	all, err := c.store.QueryAudit(ctx, f)
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.Write([]string{"row", "at", "user", "action", "entity", "entity_id", "detail", "version"})
	for _, r := range all {
		w.Write([]string{strconv.FormatInt(r.Row, 10), r.At.UTC().Format(time.RFC3339), csvCell(r.Actor), r.Action, csvCell(r.Entity),
			strconv.FormatInt(r.ID, 10), csvCell(r.Detail), csvCell(r.Version)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	if err := storage.WriteFileAtomic(path, b.Bytes()); err != nil {
		return 0, err
	}
	return len(all), c.store.RecordExport(ctx, "audit trail", 0, fmt.Sprintf("%d rows to %s", len(all), filepath.Base(path)))
}

// csvCell defuses a cell a spreadsheet would evaluate (CSV injection): a leading apostrophe
// makes it text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// DefaultLockMinutes is the idle lock until an administrator sets another.
const DefaultLockMinutes = storage.DefaultLockMinutes

// LockMinutes is how long a window may sit idle before it locks (0: never): the clinic's
// setting, from the records (every OS account on the laptop gets the same), read once after
// each login or change. If the records cannot be read, the default.
func (c *Clinic) LockMinutes(ctx context.Context) int {
	if m := c.lockMinutes.Load(); m > 0 {
		return int(m - 1)
	}
	m, err := c.store.LockMinutes(ctx)
	if err != nil {
		return DefaultLockMinutes
	}
	c.lockMinutes.Store(int64(m) + 1)
	return m
}

// SetLockMinutes sets the idle lock (automatic logoff protects every patient's record: an
// administrator's setting), recorded in the audit trail.
func (c *Clinic) SetLockMinutes(ctx context.Context, minutes int) error {
	if err := c.requireAdmin("changing the idle lock"); err != nil {
		return err
	}
	c.lockMinutes.Store(0) // read again, whatever happened
	return c.store.SetLockMinutes(ctx, minutes)
}

// Logout forgets who is logged in and the data key.
func (c *Clinic) Logout() {
	c.userMu.Lock()
	c.user = nil
	c.userMu.Unlock()
	c.store.SetDataKey(nil)
	c.store.SetActor("(logged out)")
}
