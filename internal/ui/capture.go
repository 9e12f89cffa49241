package ui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// phoneDialog is the "Capture with phone" dialog: a QR code with a one-time link, served only
// while the dialog is open.
type phoneDialog struct {
	session *clinic.PhoneSession
	link    *widget.Label // the current one-photo link, under its QR code
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
	var code *canvas.Image
	var url *widget.Label
	s, err := a.u.clinic.StartPhone(clinic.PhoneOptions{Addr: phoneAddr, OnPhoto: func(name string, data []byte, phoneLang string) error {
		return a.receivePhone(pd, name, data, phoneLang)
	}, OnNewLink: func(link string) {
		// A link takes one photo: show the new QR code for the next.
		img, err := pd.session.QRCode(280)
		fyne.Do(func() {
			if err != nil {
				u.showError(lang.L("Could not start phone capture."), err)
				return
			}
			code.Image = img
			code.Refresh()
			url.SetText(link)
		})
	}})
	if err != nil {
		u.showError(lang.L("Could not start phone capture."), err)
		return nil
	}
	pd.session = s
	img, err := s.QRCode(280)
	if err != nil {
		s.Close()
		u.showError(lang.L("Could not start phone capture."), err)
		return nil
	}
	code = canvas.NewImageFromImage(img)
	code.FillMode = canvas.ImageFillOriginal
	code.ScaleMode = canvas.ImageScalePixels
	url = widget.NewLabel(s.URL())
	pd.link = url
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
	pd.dialog.Resize(a.u.dialogSize(460, 560))
	pd.dialog.Show()
	u.log.Info("phone capture open", "expires", s.Expires())
	return pd
}

// receivePhone runs on the server's goroutine: check and decode the photo, record it in the
// audit trail, then hand it to the screen through fyne.Do. An error goes back to the phone.
func (a *assessScreen) receivePhone(pd *phoneDialog, name string, data []byte, phoneLang string) error {
	u := a.u
	photo, err := u.clinic.ReceiveCapture(context.Background(), "phone photo "+name, "phone:"+name, data, a.patient.Code)
	if err != nil {
		return errors.New(explainIn(inLanguage(phoneLang), err)) // in the phone page's language
	}
	shown := preparePhoto(photo.Image, nil)
	u.jobs.Add(1)
	fyne.Do(func() {
		defer u.jobs.Done()
		if a.busy {
			pd.status.SetText(lang.L("The laptop is busy; send the photo again in a moment."))
			return
		}
		a.setPhoto(photo, shown, "phone")
		pd.status.SetText(fmt.Sprintf(lang.L("Photo received (%d × %d). Close this window to analyse it, or send another."), photo.Width, photo.Height))
	})
	return nil
}

// usbDialog is the USB camera dialog: pick a device, watch the live preview, take the photo.
type usbDialog struct {
	devices []clinic.CameraDevice
	pick    *widget.Select
	preview *canvas.Image
	status  *widget.Label
	take    *widget.Button
	dialog  dialog.Dialog

	mu   sync.Mutex
	cam  *clinic.Camera
	last []byte // the latest frame as JPEG
	stop chan struct{}
}

// captureUSB opens the USB camera dialog, or explains why there is nothing to open.
func (a *assessScreen) captureUSB() *usbDialog {
	u := a.u
	devices, err := u.clinic.Cameras().Devices()
	if err != nil {
		u.showError(lang.L("Could not list the cameras."), err)
		return nil
	}
	if len(devices) == 0 {
		msg := lang.L("No USB camera or dermatoscope is connected.") + "\n\n" + lang.L("usb.none")
		l := widget.NewLabel(msg)
		l.Wrapping = fyne.TextWrapWord
		d := dialog.NewCustom(lang.L("USB camera"), lang.L("Close"), l, u.win)
		d.Resize(a.u.dialogSize(480, 240))
		d.Show()
		u.lastInfo = msg
		return nil
	}
	ud := &usbDialog{devices: devices, status: widget.NewLabel(""), preview: canvas.NewImageFromImage(nil)}
	ud.preview.FillMode = canvas.ImageFillContain
	ud.preview.SetMinSize(fyne.NewSize(480, 360))
	ud.status.Wrapping = fyne.TextWrapWord
	var names []string
	for _, d := range devices {
		names = append(names, fmt.Sprintf("%s (%s)", d.Name, d.Path))
	}
	ud.take = widget.NewButtonWithIcon(lang.L("Take photo"), theme.MediaPhotoIcon(), func() { a.takeUSB(ud) })
	ud.take.Importance = widget.HighImportance
	ud.take.Disable()
	ud.pick = widget.NewSelect(names, func(string) { a.openUSB(ud, devices[ud.pick.SelectedIndex()]) })
	body := container.NewBorder(ud.pick, container.NewVBox(ud.status, ud.take), nil, nil, ud.preview)
	ud.dialog = dialog.NewCustom(lang.L("USB camera"), lang.L("Close"), body, u.win)
	ud.dialog.SetOnClosed(func() { ud.close(u) })
	ud.dialog.Resize(a.u.dialogSize(560, 560))
	ud.dialog.Show()
	ud.pick.SetSelectedIndex(0)
	return ud
}

// openUSB starts a device and a background reader that shows its frames (about 10 a second).
func (a *assessScreen) openUSB(ud *usbDialog, d clinic.CameraDevice) {
	u := a.u
	ud.stopCamera()
	ud.status.SetText(lang.L("Starting the camera…"))
	ud.take.Disable()
	cam, err := u.clinic.Cameras().Open(d)
	if err != nil {
		ud.status.SetText(err.Error())
		u.lastInfo = err.Error()
		u.log.Warn("USB camera", "device", d.Path, "err", err)
		return
	}
	w, h := cam.Size()
	ud.mu.Lock()
	ud.cam, ud.stop = cam, make(chan struct{})
	stop := ud.stop
	ud.mu.Unlock()
	ud.status.SetText(fmt.Sprintf("%s — %d × %d", d.Name, w, h))
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			img, jpegBytes, err := cam.Frame(2)
			if err != nil {
				fyne.Do(func() { ud.status.SetText(err.Error()) })
				continue
			}
			ud.mu.Lock()
			ud.last = jpegBytes
			ud.mu.Unlock()
			fyne.Do(func() {
				ud.preview.Image = img
				ud.preview.Refresh()
				ud.take.Enable()
			})
		}
	}()
}

// takeUSB puts the latest frame into the assessment, as a phone photo would arrive.
func (a *assessScreen) takeUSB(ud *usbDialog) {
	ud.mu.Lock()
	frame, cam := ud.last, ud.cam
	ud.mu.Unlock()
	if frame == nil || cam == nil {
		return // no camera (a re-open failed) or no frame yet: nothing to take
	}
	dev := cam.Device
	photo, err := a.u.clinic.ReceiveCapture(context.Background(), "USB camera photo from "+dev.Name+" "+dev.Path, "usb:"+dev.Path, frame, a.patient.Code)
	if err != nil {
		a.u.showError(lang.L("Could not open the photo."), err)
		return
	}
	// On the UI thread, but a USB frame is only about 1280 px wide.
	a.setPhoto(photo, preparePhoto(photo.Image, nil), "usb:"+dev.Name)
	ud.dialog.Hide()
}

func (ud *usbDialog) stopCamera() {
	ud.mu.Lock()
	defer ud.mu.Unlock()
	if ud.stop != nil {
		close(ud.stop)
		ud.stop = nil
	}
	if ud.cam != nil {
		// Closing waits for a frame read in progress (up to 2 s); not on the UI thread.
		go ud.cam.Close()
		ud.cam = nil
	}
	ud.last = nil // the stopped camera's frame is not the next camera's photo
}

func (ud *usbDialog) close(u *UI) {
	ud.stopCamera()
	u.log.Info("USB camera closed")
}
