package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/png"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/capture"
	"dermal/locale"
)

// phoneDialog is the "Capture with phone" dialog: a QR code with a one-time link, served only
// while the dialog is open.
type phoneDialog struct {
	session *capture.PhoneSession
	status  *widget.Label
	dialog  dialog.Dialog
}

// phoneAddr is where the capture server listens ("" = the laptop's LAN address); tests set
// 127.0.0.1:0.
var phoneAddr = ""

// capturePhone opens the phone dialog for this assessment.
func (a *assessScreen) capturePhone() *phoneDialog {
	u := a.u
	pd := &phoneDialog{status: widget.NewLabel(lang.L("Waiting for the phone…"))}
	pd.status.Wrapping = fyne.TextWrapWord
	s, err := capture.StartPhone(capture.PhoneOptions{Addr: phoneAddr, OnPhoto: func(name string, data []byte) error {
		return a.receivePhone(pd, name, data)
	}})
	if err != nil {
		u.showError(lang.L("Could not start phone capture."), err)
		return nil
	}
	pd.session = s
	qr, err := s.QRCode(280)
	if err != nil {
		s.Close()
		u.showError(lang.L("Could not start phone capture."), err)
		return nil
	}
	img, _ := png.Decode(bytes.NewReader(qr))
	code := canvas.NewImageFromImage(img)
	code.FillMode = canvas.ImageFillOriginal
	code.ScaleMode = canvas.ImageScalePixels
	url := widget.NewLabel(s.URL)
	url.TextStyle.Monospace = true
	url.Wrapping = fyne.TextWrapBreak
	help := widget.NewLabel(fmt.Sprintf(lang.L("phone.help"), locale.DateTime(u.lang, s.Expires())))
	help.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(container.NewCenter(code), url, help, pd.status)
	pd.dialog = dialog.NewCustom(lang.L("Capture with phone"), lang.L("Close"), body, u.win)
	pd.dialog.SetOnClosed(func() {
		// The link dies with the dialog: the server stops listening at once.
		if err := s.Close(); err != nil {
			u.log.Error("closing the phone capture server", "err", err)
		}
		u.log.Info("phone capture closed")
	})
	pd.dialog.Resize(fyne.NewSize(460, 560))
	pd.dialog.Show()
	u.log.Info("phone capture open", "expires", s.Expires())
	return pd
}

// receivePhone runs on the server's goroutine: check and decode the photo, record it in the
// audit trail, then hand it to the screen through fyne.Do. An error goes back to the phone.
func (a *assessScreen) receivePhone(pd *phoneDialog, name string, data []byte) error {
	u := a.u
	photo, err := u.clinic.DecodePhoto("phone:"+name, data)
	if err != nil {
		return errors.New(explain(err))
	}
	sum := sha256.Sum256(data)
	detail := fmt.Sprintf("phone photo %s (%d bytes, sha256 %x) for patient %s", name, len(data), sum[:8], a.patient.Code)
	if err := u.clinic.Store.RecordCapture(context.Background(), detail); err != nil {
		return errors.New(explain(err))
	}
	u.jobs.Add(1)
	fyne.Do(func() {
		defer u.jobs.Done()
		if a.busy {
			pd.status.SetText(lang.L("The laptop is busy; send the photo again in a moment."))
			return
		}
		a.setPhoto(photo)
		pd.status.SetText(fmt.Sprintf(lang.L("Photo received (%d × %d). Close this window to analyse it, or send another."), photo.Width, photo.Height))
	})
	return nil
}

// captureUSB explains what USB cameras can do in this version instead of failing silently.
func (a *assessScreen) captureUSB() {
	u := a.u
	devices, err := capture.Devices()
	if err != nil {
		u.showError(lang.L("Could not list the cameras."), err)
		return
	}
	msg := lang.L("No USB camera or dermatoscope is connected.") + "\n\n"
	if len(devices) > 0 {
		msg = lang.L("Cameras found:") + "\n"
		for _, d := range devices {
			msg += "• " + d.Name + " (" + d.Path + ")\n"
		}
		msg += "\n"
	}
	msg += lang.L("usb.unavailable")
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(lang.L("USB camera"), lang.L("Close"), l, u.win)
	d.Resize(fyne.NewSize(480, 280))
	d.Show()
	u.lastInfo = msg
}
