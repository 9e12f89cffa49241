package inference

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders are registered by import; GIF for completeness of image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"runtime/debug"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Intake limits. A phone photo is 12-50 MP and a few MB; anything far beyond is a mistake or
// an attack (a tiny file can declare a huge canvas), and decoding it would blow the memory budget.
const (
	MaxFileBytes = 40 << 20
	MaxPixels    = 50_000_000
)

// Intake errors, for errors.Is. The wrapping error names the file and the numbers.
var (
	ErrEmptyFile         = errors.New("the file is empty")
	ErrNotRegularFile    = errors.New("not a regular file")
	ErrFileTooLarge      = errors.New("the file is too large")
	ErrTooManyPixels     = errors.New("the image has too many pixels")
	ErrUnsupportedFormat = errors.New("not a supported image format (JPEG, PNG, WebP, BMP, TIFF)")
	ErrCorruptImage      = errors.New("the image data is damaged or incomplete")
)

// IntakeError names the photo that failed and why.
type IntakeError struct {
	Name   string
	Detail string
	Err    error
}

func (e *IntakeError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %v (%s)", e.Name, e.Err, e.Detail)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

func (e *IntakeError) Unwrap() error { return e.Err }

// WorkingMaxSide bounds the decoded picture kept in memory. The model sees 200x150 and the
// screen about 1000 pixels; keeping a 12-megapixel photo decoded would cost ~50 MB per copy.
const WorkingMaxSide = 1600

// Photo is a decoded, upright photo and the bytes it came from.
type Photo struct {
	Name   string
	Bytes  []byte // exactly as received, for storage
	Format string
	// Width and Height are the upright photo's full size (for the "too small" check).
	Width, Height int
	// Image is the upright photo, scaled down to at most WorkingMaxSide on its long side.
	Image image.Image
}

// Admit is asked, after the header is read and before the pixels are decoded, whether a photo
// whose decode costs this much may be decoded now (the memory watchdog's question). Admitted,
// it returns the release to call when the decode is over. nil admits all.
type Admit func(cost DecodeCost) (release func(), err error)

// ReadPhotoFile reads and decodes a photo from disk with the intake limits.
func ReadPhotoFile(path string) (*Photo, error) { return ReadPhotoFileAdmit(path, nil) }

// ReadPhotoFileAdmit is ReadPhotoFile asking admit before decoding.
func ReadPhotoFileAdmit(path string, admit Admit) (*Photo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &IntakeError{Name: path, Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &IntakeError{Name: path, Err: ErrNotRegularFile, Detail: st.Mode().Type().String()}
	}
	if st.Size() > MaxFileBytes {
		return nil, &IntakeError{Name: path, Err: ErrFileTooLarge,
			Detail: fmt.Sprintf("%d MB; the limit is %d MB", st.Size()>>20, MaxFileBytes>>20)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &IntakeError{Name: path, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &IntakeError{Name: path, Err: err}
	}
	return DecodePhotoAdmit(path, data, admit)
}

// DecodePhoto checks and decodes photo bytes (from a file, a paste or a phone upload).
func DecodePhoto(name string, data []byte) (*Photo, error) { return DecodePhotoAdmit(name, data, nil) }

// DecodePhotoAdmit is DecodePhoto asking admit before decoding.
func DecodePhotoAdmit(name string, data []byte, admit Admit) (p *Photo, err error) {
	if len(data) == 0 {
		return nil, &IntakeError{Name: name, Err: ErrEmptyFile}
	}
	if len(data) > MaxFileBytes {
		return nil, &IntakeError{Name: name, Err: ErrFileTooLarge,
			Detail: fmt.Sprintf("%d MB; the limit is %d MB", len(data)>>20, MaxFileBytes>>20)}
	}
	// Image decoders have panicked on hostile input before; a bad photo must never take the
	// app down with the clinician's unsaved work.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &IntakeError{Name: name, Err: ErrCorruptImage, Detail: fmt.Sprint("decoder panic: ", r)}
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, &IntakeError{Name: name, Err: ErrUnsupportedFormat}
		}
		return nil, &IntakeError{Name: name, Err: ErrCorruptImage, Detail: err.Error()}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, &IntakeError{Name: name, Err: ErrCorruptImage, Detail: fmt.Sprintf("size %dx%d", cfg.Width, cfg.Height)}
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPixels {
		return nil, &IntakeError{Name: name, Err: ErrTooManyPixels,
			Detail: fmt.Sprintf("%dx%d is %.0f megapixels; the limit is %d", cfg.Width, cfg.Height, float64(px)/1e6, MaxPixels/1_000_000)}
	}
	if format == "gif" {
		return nil, &IntakeError{Name: name, Err: ErrUnsupportedFormat, Detail: "GIF"}
	}
	cost, err := decodeCost(format, cfg, data)
	if err != nil {
		return nil, &IntakeError{Name: name, Err: err}
	}
	if admit != nil {
		release, err := admit(cost)
		if err != nil {
			return nil, &IntakeError{Name: name, Err: err}
		}
		defer release()
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, &IntakeError{Name: name, Err: ErrCorruptImage, Detail: err.Error()}
	}
	b := img.Bounds()
	p = &Photo{Name: name, Bytes: data, Format: format, Width: b.Dx(), Height: b.Dy(), Image: img}
	if max(b.Dx(), b.Dy()) > WorkingMaxSide {
		p.Image = imaging.Fit(img, WorkingMaxSide, WorkingMaxSide, imaging.Lanczos)
		// The full-size decode (18 MB for 12 MP) and the scaling's intermediate picture
		// (19 MB) are garbage now. A collection alone left them resident as free heap while
		// the clinician looks at the photo before analysing it (the window: 196 MB, and 173 MB
		// once given back); giving them back costs one forced collection, ~20 ms beside a
		// 1.5 s decode. TestLargeDecodeIsGivenBack.
		img = nil
		debug.FreeOSMemory()
	}
	// A phone photo taken sideways is made upright by its EXIF orientation, turned after
	// scaling down so the full-size picture is never copied.
	if o := orientation(format, data); o != 1 {
		p.Image = orient(p.Image, o)
		if o >= 5 {
			p.Width, p.Height = p.Height, p.Width
		}
	}
	return p, nil
}
