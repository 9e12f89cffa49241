// Package hubtest starts a real Orthanc with its DICOMweb plugin for tests and `make hub`:
// on 127.0.0.1 only (remote access off, the DICOM port off), its files in a folder of its
// own, with the users given. Tests that need it skip when Orthanc is not installed.
package hubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Binary and Plugin are where Debian's orthanc and orthanc-dicomweb put them.
var (
	Binary = "/usr/sbin/Orthanc"
	Plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)

// Hub is a running Orthanc.
type Hub struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
	cfg  string
	log  *os.File
}

// URL is the hub's DICOMweb root.
func (h *Hub) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/dicom-web/", h.Port) }

// REST is the hub's REST root (Orthanc's own API).
func (h *Hub) REST() string { return fmt.Sprintf("http://127.0.0.1:%d/", h.Port) }

// Available reports whether Orthanc and its DICOMweb plugin are installed.
func Available() bool {
	_, err1 := os.Stat(Binary)
	_, err2 := os.Stat(Plugin)
	return err1 == nil && err2 == nil
}

// Start starts a hub in dir with users (name → password) on a free port and waits until it
// answers.
func Start(dir string, users map[string]string) (*Hub, error) { return StartOn(dir, 0, users) }

// StartOn is Start on a given port (0: a free one).
func StartOn(dir string, port int, users map[string]string) (*Hub, error) {
	if !Available() {
		return nil, fmt.Errorf("the hub's engine is not installed (apt-get install orthanc orthanc-dicomweb; make test installs it)")
	}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	h := &Hub{Port: port, Dir: dir, cfg: filepath.Join(dir, "orthanc.json")}
	cfg := map[string]any{
		"Name": "dermal-test-hub", "StorageDirectory": filepath.Join(dir, "db"), "IndexDirectory": filepath.Join(dir, "db"),
		"HttpPort": port, "DicomServerEnabled": false, "RemoteAccessAllowed": false, "AuthenticationEnabled": true,
		"RegisteredUsers": users, "Plugins": []string{Plugin}, "DefaultEncoding": "Utf8",
		"DicomWeb": map[string]any{"Enable": true, "Root": "/dicom-web/"}, "HttpTimeout": 60, "KeepAlive": true,
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(h.cfg, b, 0o600); err != nil {
		return nil, err
	}
	return h, h.start()
}

func (h *Hub) start() error {
	var err error
	h.log, err = os.OpenFile(filepath.Join(h.Dir, "orthanc.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h.cmd = exec.Command(Binary, h.cfg)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(h.REST() + "system")
		if err == nil {
			resp.Body.Close()
			return nil // 401 without a password: it answers
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.Stop()
	return fmt.Errorf("the hub (Orthanc) did not answer on port %d within 60 s (see %s)", h.Port, filepath.Join(h.Dir, "orthanc.log"))
}

// Stop stops the hub and waits for it to exit (starting it again before then fails: its
// database is still locked).
func (h *Hub) Stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			h.cmd.Process.Kill()
			<-done
		}
	}
	if h.log != nil {
		h.log.Close()
	}
	h.cmd = nil
}

// Restart starts the stopped hub again on the same port, with its stored studies.
func (h *Hub) Restart() error { return h.start() }

// ForTest starts a hub for a test, or skips it when Orthanc is not installed; the hub stops
// when the test ends.
func ForTest(t testing.TB, users map[string]string) *Hub {
	t.Helper()
	if !Available() {
		t.Skip("Orthanc and its DICOMweb plugin are not installed (make test installs them)")
	}
	h, err := Start(t.TempDir(), users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

// Proxy forwards each connection made to the address it returns to target, for tests that
// watch or break the traffic: what a client sends reaches the server through tap(server), made
// for each connection (nil: as it is); when that writer fails, the connection is closed both
// ways, a cable pulled out. It stops with the test.
func Proxy(t testing.TB, target string, tap func(toServer io.Writer) io.Writer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			var toServer io.Writer = server
			if tap != nil {
				toServer = tap(server)
			}
			go func() { io.Copy(client, server); client.Close() }()
			go func() { io.Copy(toServer, client); client.Close(); server.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
