// Command localhub starts a district hub on this computer for trying teleconsultation
// (make hub): Debian's Orthanc with its DICOMweb plugin, on 127.0.0.1 only, with a clinic's
// and a specialist's logins whose passwords it writes beside it. It runs until Ctrl+C; the
// studies stay in its folder for the next start.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"dermal/internal/hub/hubtest"
)

func main() {
	dir := flag.String("dir", "build/hub", "the hub's folder (studies, logs, passwords)")
	port := flag.Int("port", 18042, "the hub's port on 127.0.0.1 (the same each start: the clinics keep its address)")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fail(err)
	}
	users := map[string]string{}
	for _, name := range []string{"clinic1", "specialist"} {
		path := filepath.Join(*dir, name+".password")
		b, err := os.ReadFile(path)
		if err != nil {
			raw := make([]byte, 15)
			rand.Read(raw)
			b = []byte(base64.RawURLEncoding.EncodeToString(raw) + "\n")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				fail(err)
			}
		}
		users[name] = strings.TrimSpace(string(b))
	}
	h, err := hubtest.StartOn(*dir, *port, users)
	if err != nil {
		fail(err)
	}
	abs, _ := filepath.Abs(*dir)
	fmt.Printf(`A district hub runs at %s (this computer only; Ctrl+C stops it).

A clinic sends its referrals there (an administrator, once):
  dermal --user ADMIN hub set --url %s --user clinic1 --password-file %s
A specialist's Dermal answers them:
  dermal --user ADMIN hub set --url %s --user specialist --password-file %s
  dermal --user ADMIN hub inbox
  dermal --user ADMIN hub reply --study UID --diagnosis TEXT [--advice TEXT] [--see-within DAYS]
`, h.URL(), h.URL(), filepath.Join(abs, "clinic1.password"), h.URL(), filepath.Join(abs, "specialist.password"))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	h.Stop()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localhub:", err)
	os.Exit(1)
}
