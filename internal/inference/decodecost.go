package inference

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/disintegration/imaging"
)

// Decoding limits beyond the pixel count. A progressive JPEG is decoded scan by scan over the
// whole picture, and a file may repeat a scan any number of times: 1,000 scans of a 50 MP
// picture took 72 s and could not be stopped. libjpeg's own progressive scripts use 10 scans
// (colour) to 18 (CMYK); optimisers a few more.
const (
	MaxJPEGScans = 64
	// MaxScanMegapixels bounds scans × megapixels: ~0.07 s per scan of 50 MP measured, so
	// 1,000 is about 1.5 s of decoding.
	MaxScanMegapixels = 1000
)

// ErrTooMuchWork means the file would take unreasonably long to decode.
var ErrTooMuchWork = errors.New("the image would take too long to decode")

// DecodeCost is what decoding a photo will allocate at its peak, priced from the header
// (format, bit depth, colour model, progressive coefficient buffers) before any pixel is
// decoded, so the watchdog can refuse a 2 kB file that decodes to 270 MB.
type DecodeCost struct {
	Bytes uint64
	// What is a description for messages: "7071×7071 progressive CMYK JPEG".
	What string
}

// decodeCost prices the decode of data, whose header DecodeConfig read as cfg.
func decodeCost(format string, cfg image.Config, data []byte) (DecodeCost, error) {
	px := uint64(cfg.Width) * uint64(cfg.Height)
	what := fmt.Sprintf("%d×%d %s%s", cfg.Width, cfg.Height, modelName(cfg.ColorModel), strings.ToUpper(format))
	var perPixel float64
	switch format {
	case "jpeg":
		j, err := scanJPEG(data)
		if err != nil {
			return DecodeCost{}, err
		}
		if j.progressive && j.scans > MaxJPEGScans {
			return DecodeCost{}, fmt.Errorf("%w: a progressive JPEG of %d scans (the limit is %d)", ErrTooMuchWork, j.scans, MaxJPEGScans)
		}
		if mpx := float64(px) / 1e6; float64(j.scans)*mpx > MaxScanMegapixels {
			return DecodeCost{}, fmt.Errorf("%w: %d scans of %.0f megapixels", ErrTooMuchWork, j.scans, mpx)
		}
		// image/jpeg keeps the picture as YCbCr planes (gray: one; CMYK: YCbCr plus a black
		// plane, then converted to 4 bytes a pixel); a progressive file also keeps every
		// component's DCT coefficients, an int32 for each of a component's samples.
		planes := j.samplesPerPixel()
		if j.components == 4 {
			// CMYK is brought to full resolution on every plane, then converted to a second
			// picture of 4 bytes a pixel.
			planes = 4
		}
		perPixel = planes
		if j.components == 4 {
			perPixel += 4
		}
		if j.progressive {
			perPixel += 4 * planes
			what = fmt.Sprintf("%d×%d progressive %s", cfg.Width, cfg.Height, j.colour())
		} else {
			what = fmt.Sprintf("%d×%d %s", cfg.Width, cfg.Height, j.colour())
		}
		// The EXIF rotation is applied after scaling down (orient), so costs nothing here.
	case "png":
		perPixel = bytesPerPixel(cfg.ColorModel)
		if interlacedPNG(data) {
			// Each of the 7 passes is decoded to its own picture, then copied into the whole.
			perPixel *= 2
		}
		// Two rows of filtering state, and the zlib window, are small.
	case "tiff":
		// The output picture, and each strip decompressed whole into a buffer that grows
		// by doubling (up to twice the picture again, with every smaller buffer before it):
		// measured 37 bytes a pixel for 16-bit RGBA.
		perPixel = 5 * bytesPerPixel(cfg.ColorModel)
	case "webp":
		// Lossless: ARGB words, then the NRGBA picture; lossy: YCbCr planes (+ alpha).
		perPixel = 8
	case "bmp":
		perPixel = bytesPerPixel(cfg.ColorModel)
	default:
		perPixel = 8
	}
	bytes := uint64(float64(px) * perPixel)
	// Scaling to the working size makes a first pass of WorkingMaxSide × the full height.
	if long := max(cfg.Width, cfg.Height); long > WorkingMaxSide {
		short := uint64(min(cfg.Width, cfg.Height)) * WorkingMaxSide / uint64(long)
		bytes += uint64(WorkingMaxSide)*uint64(long)*4 + uint64(WorkingMaxSide)*short*4
	}
	// A margin for what the formulas leave out (row buffers, the zlib window, headers); the
	// fault test holds every format's price above what its decode really allocates.
	bytes = bytes + bytes/8 + 4<<20
	return DecodeCost{Bytes: bytes + uint64(len(data)), What: what}, nil
}

// modelName describes a decoded colour model for messages ("16-bit RGBA ").
func modelName(m color.Model) string {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return "16-bit RGBA "
	case color.Gray16Model:
		return "16-bit grayscale "
	case color.GrayModel:
		return "grayscale "
	}
	return ""
}

// bytesPerPixel is the size of one pixel of a decoded picture of that colour model.
func bytesPerPixel(m color.Model) float64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.Gray16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// interlacedPNG reads the interlace byte of a PNG's IHDR chunk.
func interlacedPNG(data []byte) bool { return len(data) > 28 && data[28] == 1 }

// jpegInfo is what a JPEG's markers say before its pixels are decoded.
type jpegInfo struct {
	orientation int // EXIF orientation, 1 (or 0: none) is upright
	progressive bool
	components  int
	h, v        [4]int // sampling factors
	hMax, vMax  int
	scans       int
}

// samplesPerPixel is the number of stored samples per pixel over all components (4:2:0
// colour: 1.5; 4:4:4: 3; CMYK at full resolution: 4).
func (j jpegInfo) samplesPerPixel() float64 {
	var s float64
	for i := 0; i < j.components && i < 4; i++ {
		s += float64(j.h[i]*j.v[i]) / float64(j.hMax*j.vMax)
	}
	return s
}

func (j jpegInfo) colour() string {
	switch j.components {
	case 1:
		return "grayscale JPEG"
	case 4:
		return "CMYK JPEG"
	}
	return "JPEG"
}

// scanJPEG walks a JPEG's markers (not its pixels): the frame header and the number of scans.
// Linear in the file size, and it allocates nothing.
func scanJPEG(d []byte) (jpegInfo, error) {
	var j jpegInfo
	bad := func(why string) (jpegInfo, error) {
		return j, fmt.Errorf("%w: JPEG %s", ErrCorruptImage, why)
	}
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return bad("does not start with SOI")
	}
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			return bad(fmt.Sprintf("has no marker at byte %d", i))
		}
		m := d[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xD9 { // EOI
			break
		}
		if m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return bad(fmt.Sprintf("segment %02X at byte %d overruns the file", m, i))
		}
		seg := d[i+4 : i+2+n]
		switch {
		case m == 0xE1 && j.orientation == 0 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00":
			j.orientation = exifOrientation(seg[6:])
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			j.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
			if len(seg) < 6 {
				return bad("frame header is short")
			}
			j.components = int(seg[5])
			if j.components < 1 || len(seg) < 6+3*j.components {
				return bad("frame header names no components")
			}
			j.hMax, j.vMax = 1, 1
			for c := 0; c < j.components && c < 4; c++ {
				j.h[c], j.v[c] = int(seg[7+3*c]>>4), int(seg[7+3*c]&15)
				if j.h[c] == 0 || j.v[c] == 0 {
					return bad("has a zero sampling factor")
				}
				j.hMax, j.vMax = max(j.hMax, j.h[c]), max(j.vMax, j.v[c])
			}
		case m == 0xDA: // SOS: skip the entropy-coded data to the next marker
			j.scans++
			i += 2 + n
			for i+1 < len(d) && (d[i] != 0xFF || d[i+1] == 0x00 || (d[i+1] >= 0xD0 && d[i+1] <= 0xD7)) {
				i++
			}
			continue
		}
		i += 2 + n
	}
	if j.components == 0 {
		return bad("has no frame header")
	}
	return j, nil
}

// exifOrientation reads the orientation tag (0x0112) of a TIFF-structured EXIF block's first
// directory; 0 when it has none or the block is malformed.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[ifd:]))
	for k := 0; k < n; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// orientation is a photo's EXIF orientation (1: upright); only JPEGs carry one here.
func orientation(format string, data []byte) int {
	if format != "jpeg" {
		return 1
	}
	j, err := scanJPEG(data)
	if err != nil || j.orientation == 0 {
		return 1
	}
	return j.orientation
}

// orient turns a picture as its EXIF orientation says (after it was scaled down: turning the
// full-size decode would copy it at 4 bytes a pixel).
func orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}
