// Package hostile makes the photos that have exhausted Dermal's memory or time before: small
// files that decode to huge pictures, in every format and colour model the intake accepts,
// and a progressive JPEG that repeats a scan. The fault tests and `make faults` use them. The
// Go encoders make the PNG and TIFF files; ImageMagick (`convert`, installed by make deps)
// makes the JPEG and WebP ones.
package hostile

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os/exec"

	"golang.org/x/image/tiff"
)

// Photo is one hostile file.
type Photo struct {
	Name string
	Data []byte
}

// Kinds lists the photos Make can make, in order.
var Kinds = []string{"tiff-rgba16", "jpeg-cmyk-progressive", "jpeg-444-progressive", "png-16bit", "webp-lossless", "jpeg-420-baseline"}

// flat16 is a 16-bit picture of one colour: it compresses to a few hundred kB at 50
// megapixels (the tester's TIFF was 389 kB) and decodes to 8 bytes a pixel.
func flat16(side int) *image.RGBA64 {
	img := image.NewRGBA64(image.Rect(0, 0, side, side))
	c := color.RGBA64{0xc000, 0x9000, 0x8000, 0xffff}
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			img.SetRGBA64(x, y, c)
		}
	}
	return img
}

// Make makes one hostile photo of side × side pixels.
func Make(kind string, side int) (Photo, error) {
	var b bytes.Buffer
	switch kind {
	case "tiff-rgba16":
		if err := tiff.Encode(&b, flat16(side), &tiff.Options{Compression: tiff.Deflate}); err != nil {
			return Photo{}, err
		}
		return Photo{kind + ".tiff", b.Bytes()}, nil
	case "png-16bit":
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, flat16(side)); err != nil {
			return Photo{}, err
		}
		return Photo{kind + ".png", b.Bytes()}, nil
	}
	size := fmt.Sprintf("%dx%d", side, side)
	var args []string
	var ext string
	switch kind {
	case "jpeg-cmyk-progressive":
		args, ext = []string{"-size", size, "gradient:red-blue", "-colorspace", "CMYK", "-interlace", "JPEG", "-quality", "50", "jpg:-"}, ".jpg"
	case "jpeg-444-progressive":
		args, ext = []string{"-size", size, "gradient:red-blue", "-sampling-factor", "1x1", "-interlace", "JPEG", "-quality", "50", "jpg:-"}, ".jpg"
	case "jpeg-420-baseline":
		args, ext = []string{"-size", size, "gradient:red-blue", "-sampling-factor", "2x2", "-quality", "50", "jpg:-"}, ".jpg"
	case "webp-lossless":
		args, ext = []string{"-size", size, "xc:white", "-define", "webp:lossless=true", "webp:-"}, ".webp"
	default:
		return Photo{}, fmt.Errorf("hostile: unknown kind %q", kind)
	}
	out, err := exec.Command("convert", args...).Output()
	if err != nil {
		return Photo{}, fmt.Errorf("convert %v: %w", args, err)
	}
	return Photo{kind + ext, out}, nil
}

// RepeatScans makes a progressive JPEG whose last scan is repeated until it has n scans: a
// file the decoder accepts, each scan costing a pass over the whole picture.
func RepeatScans(progressive []byte, n int) ([]byte, error) {
	var starts []int
	i := 2
	for i+4 <= len(progressive) {
		m := progressive[i+1]
		if m == 0xD9 {
			break
		}
		l := int(progressive[i+2])<<8 | int(progressive[i+3])
		if m == 0xDA {
			starts = append(starts, i)
			i += 2 + l
			for i+1 < len(progressive) && (progressive[i] != 0xFF || progressive[i+1] == 0 || (progressive[i+1] >= 0xD0 && progressive[i+1] <= 0xD7)) {
				i++
			}
			continue
		}
		i += 2 + l
	}
	if len(starts) == 0 || i+2 > len(progressive) {
		return nil, fmt.Errorf("hostile: not a progressive JPEG")
	}
	last := progressive[starts[len(starts)-1]:i]
	out := append([]byte{}, progressive[:i]...)
	for k := len(starts); k < n; k++ {
		out = append(out, last...)
	}
	return append(out, 0xFF, 0xD9), nil
}
