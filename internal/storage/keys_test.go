package storage

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dermal/internal/sealbox"
)

var testKey, _ = sealbox.KeyFrom(bytes.Repeat([]byte{7}, sealbox.KeySize))

// sealChild runs SealPlainBlobs slowly, one blob a batch, printing its progress, until the
// parent test kills it (SIGKILL).
func sealChild(path string) {
	s, err := Open(path, "child")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	s.SetDataKey(testKey)
	sealDelay = 30 * time.Millisecond
	s.SealPlainBlobs(context.Background(), 1, func(done, left int) { fmt.Printf("sealed %d left %d\n", done, left) })
	os.Exit(0)
}

// The test: the upgrade's photo encryption is killed with SIGKILL half-way, then run
// again: it completes, and every photo opens to its recorded SHA-256.
func TestSealingSurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dermal.db")
	s, err := Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	var photos [][]byte
	err = s.write(context.Background(), func(tx *sql.Tx) error {
		for i := 0; i < 40; i++ {
			photo := append([]byte("\x89PNG\r\n\x1a\nphoto "), fmt.Sprint(i)...)
			sha, err := s.Blobs().Put(context.Background(), tx, photo)
			if err != nil {
				return err
			}
			shas, photos = append(shas, sha), append(photos, photo)
		}
		return nil
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "DERMAL_SEAL_CHILD="+path)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	seen := 0
	for lines.Scan() && seen < 8 {
		if strings.HasPrefix(lines.Text(), "sealed ") {
			seen++
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if seen < 8 {
		t.Fatalf("the child sealed only %d before it ended", seen)
	}
	s, err = Open(path, "test")
	if err != nil {
		t.Fatalf("the records after the kill: %v", err)
	}
	defer s.Close()
	s.SetDataKey(testKey)
	n, err := s.SealPlainBlobs(context.Background(), 10, nil)
	if err != nil || n == 0 || n >= 40 {
		t.Fatalf("the second run sealed %d (%v); want the rest of 40", n, err)
	}
	// Every photo is under its keyed name now, and its plain name is gone.
	for i, sha := range shas {
		name := s.BlobName(photos[i])
		if !strings.HasPrefix(name, keyedPrefix) {
			t.Fatalf("with the data key the name is %s; want a keyed one", name)
		}
		data, err := s.Blobs().Get(context.Background(), name)
		if err != nil || !bytes.Equal(data, photos[i]) {
			t.Errorf("%s: %v", name[:12], err)
		}
		if _, err := s.Blobs().Get(context.Background(), sha); !errors.Is(err, ErrNotFound) {
			t.Errorf("the plain name %s is still there (%v)", sha[:12], err)
		}
	}
	var plain int
	s.db.QueryRow(`SELECT count(*) FROM blobs WHERE substr(data, 1, 4) != CAST('DRM1' AS BLOB)`).Scan(&plain)
	if plain != 0 {
		t.Errorf("%d blobs still plain", plain)
	}
}

// BenchmarkOpenSealedPhoto is what decryption adds to opening an assessment: one 2 MB photo
// (a 12 MP phone JPEG) read and opened.
func BenchmarkOpenSealedPhoto(b *testing.B) {
	photo := bytes.Repeat([]byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4}, 2<<20/8)
	sealed := testKey.Seal(photo, []byte("sha"))
	b.SetBytes(int64(len(photo)))
	for b.Loop() {
		if _, err := testKey.Open(sealed, []byte("sha")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealAtUpgrade is the upgrade's cost per stored photo (a 2 MB photo and its
// thumbnail are each read, sealed and written back; here the sealing alone).
func BenchmarkSealAtUpgrade(b *testing.B) {
	photo := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 2<<20/8)
	b.SetBytes(int64(len(photo)))
	for b.Loop() {
		testKey.Seal(photo, []byte("sha"))
	}
}
