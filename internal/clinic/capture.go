package clinic

import (
	"context"
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
	// The photo's stored name (keyed once staff accounts exist), not its plain SHA-256: the
	// trail must not tell someone holding the photo that it was taken here.
	detail := fmt.Sprintf("%s (%d bytes, photo %s) for patient %s", source, len(data), c.store.BlobName(data)[:18], patientCode)
	if err := c.store.RecordCapture(ctx, detail); err != nil {
		return nil, err
	}
	return photo, nil
}
