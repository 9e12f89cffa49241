package cli

import (
	"context"
	"flag"
	"fmt"

	"dermal/internal/accounts"
	"dermal/internal/clinic"
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/watchdog"
)

// runSetup: the clinic's profile and its first admin account (once).
func runSetup(env *Env, args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	name := fs.String("clinic", "", "the clinic's name (printed on reports)")
	address := fs.String("address", "", "the clinic's address (printed on referral letters)")
	phone := fs.String("phone", "", "the clinic's phone (printed on referral letters)")
	admin := fs.String("admin", "", "the first administrator's user name")
	fullName := fs.String("full-name", "", "the administrator's full name")
	passFile := fs.String("password-file", "", "the administrator's password, from this file (only its owner may read it); default: ask on the terminal")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *name == "" || *admin == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: setup --clinic NAME --admin USER [--full-name NAME] [--address A] [--phone P] [--password-file F]", ErrUsage)
	}
	pw, err := secret(env, *passFile, "password for "+*admin)
	if err != nil {
		return err
	}
	c, err := env.openUnlocked()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	// The recovery key is printed before anything is stored: no records ever depend on a key
	// that was not shown. If the setup then fails, the key printed is void, and says so.
	shown := false
	_, err = c.SetupShowing(ctx, clinic.ClinicProfile{Name: *name, Address: *address, Phone: *phone}, *admin, *fullName, pw, func(recovery string) error {
		shown = true
		_, err := fmt.Fprintf(env.Stdout, "RECOVERY KEY (shown once: print it and keep it locked away; it opens the photos if every password is lost):\n\n    %s\n\n", recovery)
		if f, ok := env.Stdout.(interface{ Sync() error }); ok {
			f.Sync()
		}
		return err
	})
	if err != nil {
		if shown {
			return fmt.Errorf("setup failed, nothing was stored and the recovery key above is void: %w", err)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "set up %s with the administrator %s; from now on records commands take --user\n\n", terminalSafe(*name), terminalSafe(*admin))
	// Records from before: their photos are sealed now, resumably.
	if _, err := c.Login(ctx, *admin, pw); err != nil {
		return err
	}
	n, err := c.SealStoredPhotos(ctx, func(done, left int) {
		if isTerminal(env.Stderr) {
			fmt.Fprintf(env.Stderr, "\rencrypting stored photos: %d done, %d left", done, left)
		}
	})
	if isTerminal(env.Stderr) && n > 0 {
		fmt.Fprintln(env.Stderr)
	}
	if err != nil {
		return fmt.Errorf("encrypting the stored photos stopped after %d (it carries on at the next login): %w", n, err)
	}
	if n > 0 {
		fmt.Fprintf(env.Stdout, "encrypted %d stored photos and thumbnails\n", n)
	}
	return nil
}

// runUsers: users add|list|disable|enable|passwd (administrators, except one's own passwd).
func runUsers(env *Env, args []string) error {
	usage := fmt.Errorf("%w: users add NAME [--role admin|clinician|specialist] [--full-name N] [--new-password-file F] | users list | users disable NAME | users enable NAME | users passwd NAME [--new-password-file F]", ErrUsage)
	if len(args) == 0 {
		return usage
	}
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	role := fs.String("role", clinic.RoleClinician, "admin, clinician, or specialist (a district specialist: the window opens on the hub's inbox)")
	fullName := fs.String("full-name", "", "the person's full name (printed on reports)")
	newPass := fs.String("new-password-file", "", "the account's new password, from this file; default: ask on the terminal")
	recoveryFile := fs.String("recovery-key-file", "", "passwd: set the password with the recovery key from this file (every password lost), without logging in")
	sub, rest := args[0], args[1:]
	var target string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		target, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil || fs.NArg() != 0 {
		return usage
	}
	ctx := context.Background()
	if sub == "passwd" && *recoveryFile != "" && target != "" {
		recovery, err := readSecretFile(*recoveryFile)
		if err != nil {
			return err
		}
		pw, err := secret(env, *newPass, "new password for "+target)
		if err != nil {
			return err
		}
		c, err := env.openUnlocked()
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.RecoverAccount(ctx, target, recovery, pw); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: new password set with the recovery key\n", terminalSafe(target))
		return nil
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	switch {
	case sub == "list" && target == "":
		us, err := c.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range us {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(env.Stdout, "%-16s %-9s %-8s %s\n", terminalSafe(u.Name), u.Role, state, terminalSafe(u.FullName))
		}
		return nil
	case (sub == "add" || sub == "passwd") && target != "":
		pw, err := secret(env, *newPass, "new password for "+target)
		if err != nil {
			return err
		}
		if sub == "add" {
			err = c.AddUser(ctx, target, *fullName, *role, pw)
		} else {
			err = c.SetPassword(ctx, target, pw)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: done\n", terminalSafe(target))
		return nil
	case (sub == "disable" || sub == "enable") && target != "":
		if err := c.SetDisabled(ctx, target, sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %sd\n", terminalSafe(target), sub)
		return nil
	}
	return usage
}

// hashParams are the argon2id costs of the accounts commands make (nil: the shipped ones;
// the tests, which run many logins in one process under the race detector, lower them).
var hashParams *accounts.Params

// newClinic joins what a command opened, with the accounts' costs.
func newClinic(eng *inference.Engine, s *storage.Store, guard *watchdog.Guard) *clinic.Clinic {
	c := clinic.New(eng, s, guard)
	if hashParams != nil {
		c.SetHashParams(*hashParams)
	}
	return c
}
