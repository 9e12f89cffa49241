//go:build linux

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"sync"

	"github.com/blackjack/webcam"
)

// V4L2 pixel formats Dermal reads (fourcc codes).
const (
	formatMJPEG webcam.PixelFormat = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	formatYUYV  webcam.PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
)

// preferredWidth is the frame width asked for: enough for a dermatoscope's field at the
// analysis resolution, small enough for a smooth preview over USB 2.
const preferredWidth = 1280

// Camera is an open video device streaming frames.
type Camera struct {
	Device Device
	cam    *webcam.Webcam
	format webcam.PixelFormat
	width  int
	height int
	mu     sync.Mutex
}

// OpenCamera opens a video device and starts streaming MJPEG (preferred: the camera
// compresses, USB carries less) or YUYV at the supported size nearest preferredWidth.
func OpenCamera(d Device) (*Camera, error) {
	cam, err := webcam.Open(d.Path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the camera %s: %w", d.Path, err)
	}
	c := &Camera{Device: d, cam: cam}
	formats := cam.GetSupportedFormats()
	switch {
	case formats[formatMJPEG] != "":
		c.format = formatMJPEG
	case formats[formatYUYV] != "":
		c.format = formatYUYV
	default:
		cam.Close()
		return nil, fmt.Errorf("the camera %s offers neither MJPEG nor YUYV frames (it offers %v)", d.Path, formats)
	}
	w, h := bestSize(cam.GetSupportedFrameSizes(c.format))
	f, gw, gh, err := cam.SetImageFormat(c.format, w, h)
	if err != nil {
		cam.Close()
		return nil, fmt.Errorf("the camera %s refused %dx%d: %w", d.Path, w, h, err)
	}
	c.format, c.width, c.height = f, int(gw), int(gh)
	if err := cam.StartStreaming(); err != nil {
		cam.Close()
		return nil, fmt.Errorf("the camera %s did not start: %w", d.Path, err)
	}
	return c, nil
}

// bestSize picks the supported size whose width is nearest preferredWidth (discrete sizes) or
// preferredWidth clamped to the range (stepwise sizes), keeping 4:3 where the camera allows.
func bestSize(sizes []webcam.FrameSize) (uint32, uint32) {
	best, bestW, bestH := -1, uint32(640), uint32(480)
	for _, s := range sizes {
		w, h := s.MaxWidth, s.MaxHeight
		if s.StepWidth != 0 {
			w = min(max(preferredWidth, s.MinWidth), s.MaxWidth)
			h = min(max(w*3/4, s.MinHeight), s.MaxHeight)
		}
		d := int(w) - preferredWidth
		if d < 0 {
			d = -d
		}
		if best < 0 || d < best {
			best, bestW, bestH = d, w, h
		}
	}
	return bestW, bestH
}

// Size is the frame size the camera delivers.
func (c *Camera) Size() (int, int) { return c.width, c.height }

// Frame waits up to timeoutSeconds for the next frame and returns it as an image and as JPEG
// bytes (what gets stored: MJPEG frames as the camera sent them, with their tables restored;
// YUYV frames encoded at quality 92).
func (c *Camera) Frame(timeoutSeconds uint32) (image.Image, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.cam.WaitForFrame(timeoutSeconds); err != nil {
		var t *webcam.Timeout
		if errors.As(err, &t) {
			return nil, nil, fmt.Errorf("the camera %s sent no picture for %d s", c.Device.Path, timeoutSeconds)
		}
		return nil, nil, err
	}
	raw, err := c.cam.ReadFrame()
	if err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 {
		return nil, nil, errors.New("the camera sent an empty frame")
	}
	frame := append([]byte(nil), raw...) // the driver's buffer is reused
	if c.format == formatMJPEG {
		fixed, err := FixMJPEG(frame)
		if err != nil {
			return nil, nil, err
		}
		img, err := jpeg.Decode(bytes.NewReader(fixed))
		return img, fixed, err
	}
	img, err := YUYVToImage(frame, c.width, c.height)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		return nil, nil, err
	}
	return img, b.Bytes(), nil
}

// Close stops streaming and releases the device.
func (c *Camera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.cam.StopStreaming(), c.cam.Close())
}
