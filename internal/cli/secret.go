package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/term"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// ReadSecretFile is readSecretFile for the desktop app's --password-file.
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: --user needs --password-file to log the window in", ErrUsage)
	}
	return readSecretFile(path)
}

// readSecretFile reads a passphrase or key file, refusing one that others than its owner
// may read (a passphrase in a world-readable file protects nothing). Windows has no such mode
// bits; its files are the user's by the profile's ACL.
func readSecretFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: %s can be read by others (mode %v); chmod 600 it first", ErrUsage, path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrUsage, path)
	}
	return s, nil
}

// secret reads a password from file, else asks on the terminal once.
func secret(env *Env, file, what string) (string, error) {
	if file != "" {
		return readSecretFile(file)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("%w: no terminal to ask for the %s; give it in a file (--password-file)", ErrUsage, what)
	}
	fmt.Fprintf(env.Stderr, "%s: ", what)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(env.Stderr)
	return string(p), err
}

// passphrase reads the backup passphrase from file, else from the terminal (twice when
// making a backup, so a typo does not seal it under an unknown passphrase).
func passphrase(env *Env, file string, confirm bool) (string, error) {
	if file != "" {
		return readSecretFile(file)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("%w: no terminal to ask for the backup passphrase; give --passphrase-file", ErrUsage)
	}
	fmt.Fprint(env.Stderr, "backup passphrase: ")
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	if confirm {
		fmt.Fprint(env.Stderr, "again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		if string(again) != string(p) {
			return "", errors.New("the two passphrases differ; nothing was written")
		}
	}
	return string(p), nil
}
