package capture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Device is a video device (USB camera, dermatoscope) the system lists.
type Device struct {
	Path string // /dev/videoN
	Name string // what the device calls itself
}

// ErrLiveUSBUnavailable says why this build cannot stream from a USB camera yet: frames are
// converted (tested with recorded MJPEG and YUYV frames), but reading them from the device
// needs a V4L2 library, and the maintained Go one (github.com/vladimirvivien/go4vl) was not
// obtainable from the module proxy when this was built. Hand-written ioctls that no device here
// could test would be worse than saying so.
var ErrLiveUSBUnavailable = errors.New("live capture from USB cameras is not available in this version of Dermal; save a photo on the camera or phone and open it, or use phone capture")

// Devices lists video capture devices from sysfs (Linux). Other systems return an empty list.
func Devices() ([]Device, error) {
	return devicesUnder("/sys/class/video4linux")
}

func devicesUnder(root string) ([]Device, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Device
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "video") {
			continue
		}
		name, _ := os.ReadFile(filepath.Join(root, e.Name(), "name"))
		out = append(out, Device{Path: "/dev/" + e.Name(), Name: strings.TrimSpace(string(name))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// YUYVToImage converts one packed YUYV 4:2:2 frame (Y0 U Y1 V per two pixels, the format every
// UVC camera offers) to an image without copying the colour maths: it becomes a planar
// image.YCbCr with 4:2:2 subsampling, which the standard library converts exactly.
func YUYVToImage(frame []byte, width, height int) (*image.YCbCr, error) {
	if width <= 0 || height <= 0 || width%2 != 0 {
		return nil, fmt.Errorf("YUYV frame size %dx%d: the width must be even and positive", width, height)
	}
	if want := width * height * 2; len(frame) != want {
		return nil, fmt.Errorf("YUYV frame is %d bytes; %dx%d needs %d", len(frame), width, height, want)
	}
	img := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio422)
	for y := 0; y < height; y++ {
		row := frame[y*width*2 : (y+1)*width*2]
		for x := 0; x < width; x += 2 {
			p := row[2*x : 2*x+4]
			img.Y[y*img.YStride+x] = p[0]
			img.Y[y*img.YStride+x+1] = p[2]
			ci := y*img.CStride + x/2
			img.Cb[ci] = p[1]
			img.Cr[ci] = p[3]
		}
	}
	return img, nil
}

// FixMJPEG returns an MJPEG frame as a standalone JPEG file. UVC cameras leave out the
// Huffman tables (the USB video class says the standard ones from the JPEG specification,
// Annex K.3, apply), and Go's decoder, like most, refuses a JPEG without them; this inserts
// them before the start of scan when the frame has none.
func FixMJPEG(frame []byte) ([]byte, error) {
	if len(frame) < 4 || frame[0] != 0xFF || frame[1] != 0xD8 {
		return nil, errors.New("MJPEG frame does not start with a JPEG marker")
	}
	i := 2
	for i+4 <= len(frame) {
		if frame[i] != 0xFF {
			return nil, fmt.Errorf("MJPEG frame: no marker at byte %d", i)
		}
		marker := frame[i+1]
		switch {
		case marker == 0xC4: // DHT: tables present
			return frame, nil
		case marker == 0xDA: // SOS: insert the standard tables here
			out := make([]byte, 0, len(frame)+len(standardDHT))
			out = append(out, frame[:i]...)
			out = append(out, standardDHT...)
			return append(out, frame[i:]...), nil
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2
		default:
			n := int(frame[i+2])<<8 | int(frame[i+3])
			i += 2 + n
		}
	}
	return nil, errors.New("MJPEG frame has no start of scan")
}

// MJPEGToImage decodes one MJPEG frame.
func MJPEGToImage(frame []byte) (image.Image, error) {
	fixed, err := FixMJPEG(frame)
	if err != nil {
		return nil, err
	}
	return jpeg.Decode(bytes.NewReader(fixed))
}

// standardDHT is the DHT segment with the four tables of JPEG Annex K.3 (luminance and
// chrominance, DC and AC), as UVC (USB Video Class, MJPEG payload) specifies.
var standardDHT = func() []byte {
	tables := []struct {
		class  byte
		counts [16]byte
		values []byte
	}{
		{0x00, [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0x01, [16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0x10, [16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d}, []byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
		{0x11, [16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77}, []byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
	}
	var body []byte
	for _, t := range tables {
		body = append(body, t.class)
		body = append(body, t.counts[:]...)
		body = append(body, t.values...)
	}
	n := len(body) + 2
	return append([]byte{0xFF, 0xC4, byte(n >> 8), byte(n)}, body...)
}()
