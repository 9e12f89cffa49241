package inference_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/disintegration/imaging"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"dermal/internal/inference"
)

// pngHeader is a PNG signature and IHDR chunk declaring w x h, with nothing after it: enough
// for image.DecodeConfig, a trap for anything that decodes before checking.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func testPicture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with the given orientation tag after the
// JPEG's SOI marker, as a phone camera writes it.
func withOrientation(jpg []byte, orientation uint16) []byte {
	var tiffData bytes.Buffer
	tiffData.Write([]byte("II*\x00"))
	binary.Write(&tiffData, binary.LittleEndian, uint32(8)) // IFD offset
	binary.Write(&tiffData, binary.LittleEndian, uint16(1)) // one entry
	binary.Write(&tiffData, binary.LittleEndian, uint16(0x0112))
	binary.Write(&tiffData, binary.LittleEndian, uint16(3)) // SHORT
	binary.Write(&tiffData, binary.LittleEndian, uint32(1))
	binary.Write(&tiffData, binary.LittleEndian, orientation)
	binary.Write(&tiffData, binary.LittleEndian, uint16(0))
	binary.Write(&tiffData, binary.LittleEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiffData.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIntakeRefusesBadInput(t *testing.T) {
	good := encodeJPEG(t, testPicture(64, 48))
	huge := filepath.Join(t.TempDir(), "huge.jpg")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(inference.MaxFileBytes + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	cases := []struct {
		name string
		path string
		want error
	}{
		{"empty file", writeFile(t, "empty.jpg", nil), inference.ErrEmptyFile},
		{"text renamed .jpg", writeFile(t, "notes.jpg", []byte("patient notes, not a photo\n")), inference.ErrUnsupportedFormat},
		{"truncated JPEG", writeFile(t, "cut.jpg", good[:len(good)/2]), inference.ErrCorruptImage},
		{"30000x30000 PNG header", writeFile(t, "bomb.png", pngHeader(30000, 30000)), inference.ErrTooManyPixels},
		{"directory", t.TempDir(), inference.ErrNotRegularFile},
		{"over 40 MB", huge, inference.ErrFileTooLarge},
		{"GIF", writeFile(t, "anim.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")), inference.ErrUnsupportedFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := inference.ReadPhotoFile(tc.path)
			if err == nil {
				t.Fatalf("accepted: %+v", p.Format)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
			var ie *inference.IntakeError
			if !errors.As(err, &ie) || ie.Name != tc.path {
				t.Fatalf("error %q does not name the file %s", err, tc.path)
			}
		})
	}
	if _, err := inference.ReadPhotoFile(filepath.Join(t.TempDir(), "missing.jpg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestIntakeAcceptsFormats(t *testing.T) {
	pic := testPicture(40, 30)
	var pngB, bmpB, tiffB bytes.Buffer
	if err := png.Encode(&pngB, pic); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&bmpB, pic); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tiffB, pic, nil); err != nil {
		t.Fatal(err)
	}
	webp, err := os.ReadFile("testdata/formats/chelsea.webp")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		format string
		data   []byte
		w, h   int
	}{
		{"jpeg", encodeJPEG(t, pic), 40, 30},
		{"png", pngB.Bytes(), 40, 30},
		{"bmp", bmpB.Bytes(), 40, 30},
		{"tiff", tiffB.Bytes(), 40, 30},
		{"webp", webp, 64, 43},
	}
	for _, tc := range cases {
		p, err := inference.DecodePhoto("photo."+tc.format, tc.data)
		if err != nil {
			t.Errorf("%s: %v", tc.format, err)
			continue
		}
		if p.Format != tc.format || p.Image.Bounds().Dx() != tc.w || p.Image.Bounds().Dy() != tc.h {
			t.Errorf("%s: got %s %v", tc.format, p.Format, p.Image.Bounds())
		}
	}
}

func TestIntakeAppliesEXIFOrientation(t *testing.T) {
	jpg := encodeJPEG(t, testPicture(40, 20))
	for _, tc := range []struct {
		orientation uint16
		w, h        int
	}{{1, 40, 20}, {6, 20, 40}, {8, 20, 40}, {3, 40, 20}} {
		p, err := inference.DecodePhoto("phone.jpg", withOrientation(jpg, tc.orientation))
		if err != nil {
			t.Fatal(err)
		}
		if b := p.Image.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("orientation %d: %dx%d, want %dx%d", tc.orientation, b.Dx(), b.Dy(), tc.w, tc.h)
		}
	}
}

// The turn applied after scaling down is the one imaging's own EXIF handling applies to the
// full picture, for each of the eight orientations.
func TestOrientationMatchesImaging(t *testing.T) {
	jpg := encodeJPEG(t, testPicture(48, 24))
	for o := uint16(1); o <= 8; o++ {
		data := withOrientation(jpg, o)
		p, err := inference.DecodePhoto("phone.jpg", data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
		if err != nil {
			t.Fatal(err)
		}
		got, exp := imaging.Clone(p.Image), imaging.Clone(want)
		if !got.Rect.Eq(exp.Rect) || !bytes.Equal(got.Pix, exp.Pix) {
			t.Errorf("orientation %d: %v differs from imaging's %v", o, got.Rect, exp.Rect)
		}
		if p.Width != exp.Rect.Dx() || p.Height != exp.Rect.Dy() {
			t.Errorf("orientation %d: full size %dx%d, want %v", o, p.Width, p.Height, exp.Rect)
		}
	}
}

func TestCanonicalCropsAndTurns(t *testing.T) {
	cases := []struct{ w, h int }{{200, 150}, {4000, 3000}, {3000, 4000}, {1000, 1000}, {640, 200}}
	for _, c := range cases {
		got := inference.Canonical(testPicture(c.w, c.h), 200, 150)
		if got.Rect.Dx() != 200 || got.Rect.Dy() != 150 {
			t.Errorf("%dx%d -> %v", c.w, c.h, got.Rect)
		}
	}
	src := testPicture(200, 150)
	if got := inference.Canonical(src, 200, 150); !bytes.Equal(got.Pix, src.Pix) {
		t.Error("a picture already at the input size was resampled")
	}
}

// A phone photo's full-size decode is handed back to the system once the photo is scaled to
// WorkingMaxSide, not kept as free heap: the clinician may look at the photo and write findings
// for minutes before analysing it, and on a low-RAM laptop those pages belong to the rest of
// the machine. Before, a collection alone left them resident (free to Go, not to the system).
func TestLargeDecodeIsGivenBack(t *testing.T) {
	const w, h = 3200, 2400
	jpg := encodeJPEG(t, testPicture(w, h))
	runtime.GC()
	debug.FreeOSMemory()
	p, err := inference.DecodePhoto("phone.jpg", jpg)
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	retained := ms.HeapIdle - ms.HeapReleased
	// The decode alone is w*h luma + two quarter-size chroma planes; half of it still held as
	// free heap means the decode (and the scaling's larger intermediate) was not given back.
	decode := uint64(w * h * 3 / 2)
	if retained > decode/2 {
		t.Errorf("after decoding a %dx%d JPEG, %d MB of free heap is still held (the decode alone is %d MB)",
			w, h, retained>>20, decode>>20)
	}
	if b := p.Image.Bounds(); max(b.Dx(), b.Dy()) != inference.WorkingMaxSide {
		t.Errorf("kept picture %v, want long side %d", b, inference.WorkingMaxSide)
	}
}
