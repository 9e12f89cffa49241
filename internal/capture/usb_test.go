package capture

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMJPEGFrameWithoutHuffmanTablesDecodes(t *testing.T) {
	frame := read(t, "frame-200x150.mjpeg")
	if _, err := jpeg.Decode(bytes.NewReader(frame)); err == nil {
		t.Fatal("the fixture decodes without fixing; it is not a UVC-style frame")
	}
	got, err := MJPEGToImage(frame)
	if err != nil {
		t.Fatal(err)
	}
	want, err := jpeg.Decode(bytes.NewReader(read(t, "frame-200x150.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(imaging.Clone(got).Pix, imaging.Clone(want).Pix) {
		t.Error("the fixed frame decodes to different pixels than the original JPEG")
	}
	// A frame that has its tables is left alone.
	full := read(t, "frame-200x150.jpg")
	if fixed, _ := FixMJPEG(full); !bytes.Equal(fixed, full) {
		t.Error("a complete JPEG was modified")
	}
	for _, bad := range [][]byte{nil, []byte("not a jpeg"), {0xFF, 0xD8, 0xFF, 0xD9}} {
		if _, err := MJPEGToImage(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestYUYVFrameConverts(t *testing.T) {
	frame := read(t, "frame-200x150.yuyv")
	img, err := YUYVToImage(frame, 200, 150)
	if err != nil {
		t.Fatal(err)
	}
	src, err := imaging.Open("../inference/testdata/fixtures/ISIC_0024367.png")
	if err != nil {
		t.Fatal(err)
	}
	got, want := imaging.Clone(img), imaging.Clone(src)
	var sum, n float64
	for i := range got.Pix {
		if i%4 == 3 {
			continue
		}
		d := float64(got.Pix[i]) - float64(want.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
		n++
	}
	// Chroma is shared by two pixels, so small differences are expected; a wrong byte order
	// or swapped U/V gives tens of levels.
	if mean := sum / n; mean > 3 {
		t.Errorf("mean difference %.2f levels from the source photo", mean)
	}
	for _, tc := range []struct {
		n, w, h int
	}{{len(frame) - 1, 200, 150}, {len(frame), 201, 150}, {len(frame), 0, 150}} {
		if _, err := YUYVToImage(frame[:tc.n], tc.w, tc.h); err == nil {
			t.Errorf("%d bytes as %dx%d accepted", tc.n, tc.w, tc.h)
		}
	}
}

func TestDevicesFromSysfs(t *testing.T) {
	root := t.TempDir()
	for name, label := range map[string]string{"video2": "Dino-Lite Dermatoscope", "video0": "Integrated Camera"} {
		os.MkdirAll(filepath.Join(root, name), 0o755)
		os.WriteFile(filepath.Join(root, name, "name"), []byte(label+"\n"), 0o644)
	}
	ds, err := devicesUnder(root)
	if err != nil || len(ds) != 2 || ds[0].Path != "/dev/video0" || ds[1].Name != "Dino-Lite Dermatoscope" {
		t.Errorf("devices %+v %v", ds, err)
	}
	if ds, err := devicesUnder(filepath.Join(root, "missing")); err != nil || len(ds) != 0 {
		t.Errorf("no video4linux: %v %v", ds, err)
	}
}

var _ image.Image
