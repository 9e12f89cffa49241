package clinic

import (
	"context"
	"crypto/sha256"
	"fmt"

	"dermal/internal/inference"
)

// ReceiveCapture takes a photo that arrived from a camera (source says which: "phone photo
// IMG_0001.jpg", "USB camera photo from Dino-Lite /dev/video2"): it decodes it under the
// watchdog's admission check and records the capture in the audit trail for the patient. The
// photo is not stored yet; that happens when the assessment is saved.
func (c *Clinic) ReceiveCapture(ctx context.Context, source, name string, data []byte, patientCode string) (*inference.Photo, error) {
	photo, err := c.DecodePhoto(name, data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	detail := fmt.Sprintf("%s (%d bytes, sha256 %x) for patient %s", source, len(data), sum[:8], patientCode)
	if err := c.store.RecordCapture(ctx, detail); err != nil {
		return nil, err
	}
	return photo, nil
}
