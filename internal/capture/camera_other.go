//go:build !linux

package capture

import (
	"errors"
	"image"
)

// ErrCameraUnsupported: USB cameras are read through Linux's V4L2 only, for now.
var ErrCameraUnsupported = errors.New("USB cameras are supported on Linux only in this version of Dermal; save the photo on the camera and open it, or use phone capture")

// Camera is not available on this system.
type Camera struct{ Device Device }

// OpenCamera explains that USB capture is Linux-only.
func OpenCamera(Device) (*Camera, error) { return nil, ErrCameraUnsupported }

// Size is never called on this system.
func (c *Camera) Size() (int, int) { return 0, 0 }

// Frame is never called on this system.
func (c *Camera) Frame(uint32) (image.Image, []byte, error) { return nil, nil, ErrCameraUnsupported }

// Close does nothing.
func (c *Camera) Close() error { return nil }
