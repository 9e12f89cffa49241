package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// IdleUnload is the idle period after which the model is unloaded (0: never).
func IdleUnload(s *Settings) time.Duration { return time.Duration(s.IdleUnloadMinutes()) * time.Minute }

func storageNFC(s string) string { return clinic.NFC(s) }

// gradcamSkipped words the watchdog's "without Grad-CAM" decision for the result panel.
func gradcamSkipped(d clinic.Decision) string {
	return fmt.Sprintf(lang.L("Grad-CAM was skipped to stay within memory: the analysis needs about %d MB with it, and %d MB is allowed."),
		d.WithGradCAM/clinic.MB, d.Limit/clinic.MB)
}

// translator translates a key into one language: the window's (fyne/lang) or another, such
// as the phone page's.
type translator interface{ L(key string) string }

type windowLanguage struct{}

func (windowLanguage) L(key string) string { return lang.L(key) }

// inLanguage translates into a given language ("en", "vi").
type inLanguage string

func (l inLanguage) L(key string) string { return locale.T(string(l), key) }

// explain turns an error into words for the clinic, in the window's language.
func explain(err error) string { return explainIn(windowLanguage{}, err) }

// explainIn turns an error into words for the clinic: what happened and what to do. The
// parameter is named lang (shadowing the package) so that its lang.L("…") calls are the ones
// the translations test checks.
func explainIn(lang translator, err error) string {
	var refused *clinic.RefusedError
	switch {
	case errors.As(err, &refused) && refused.Decision.Decoding != "":
		d := refused.Decision
		return fmt.Sprintf(lang.L("Not enough memory to open this photo: decoding a %s needs about %d MB, and %d MB is allowed (%d MB in use). Use the camera's normal photo format and size (a JPEG of up to about 20 megapixels)."),
			d.Decoding, d.Peak/clinic.MB-d.Sample.RSS/clinic.MB, d.Limit/clinic.MB, d.Sample.RSS/clinic.MB)
	case errors.As(err, &refused):
		d := refused.Decision
		return fmt.Sprintf(lang.L("Not enough memory to analyse this photo: it needs about %d MB, %d MB is allowed (%d MB in use, %d MB free on this computer). Close other programs, or use a smaller photo."),
			d.Peak/clinic.MB, d.Limit/clinic.MB, d.Sample.RSS/clinic.MB, d.Sample.Available/clinic.MB)
	case errors.Is(err, clinic.ErrUnsupportedFormat):
		return lang.L("This file is not a photo Dermal can read. Use a JPEG, PNG, WebP, BMP or TIFF photo.")
	case errors.Is(err, clinic.ErrFileTooLarge), errors.Is(err, clinic.ErrTooManyPixels):
		return lang.L("This photo is too large. Use the camera's normal photo size (under 50 megapixels and 40 MB).")
	case errors.Is(err, clinic.ErrCorruptImage), errors.Is(err, clinic.ErrEmptyFile):
		return lang.L("This photo file is damaged or incomplete. Copy it again from the camera or take a new photo.")
	case errors.Is(err, clinic.ErrNotRegularFile):
		return lang.L("That is a folder or device, not a photo file.")
	case errors.Is(err, clinic.ErrLibraryNotFound):
		return lang.L("The analysis engine (ONNX Runtime) is not installed next to Dermal. Ask whoever set up this computer to run `make deps`.")
	case errors.Is(err, clinic.ErrModelMismatch):
		return lang.L("The model file is damaged: its checksum does not match the model card. Reinstall Dermal.")
	case errors.Is(err, clinic.ErrCorrupt):
		return lang.L("The records database is damaged. Nothing was written. Restore the latest backup (dermal restore).")
	case errors.Is(err, clinic.ErrDuplicateCode):
		return lang.L("Another patient already has this clinic code. Use a different code, or search for the existing patient.")
	case errors.Is(err, clinic.ErrInvalid):
		// The storage message says which field is wrong; show what follows "invalid value: ".
		msg := err.Error()
		if _, detail, ok := strings.Cut(msg, clinic.ErrInvalid.Error()+": "); ok {
			msg = detail
		}
		return lang.L("Please correct this and try again:") + " " + msg
	case errors.Is(err, clinic.ErrLogin):
		return lang.L("Wrong user name or password.")
	case errors.Is(err, clinic.ErrNotAllowed):
		return lang.L("Your account may not do this; ask an administrator.") + " (" + err.Error() + ")"
	case errors.Is(err, clinic.ErrNoConsent):
		return lang.L("The patient did not consent to this. Record the patient's new consent in their details first, if they give it.")
	case errors.Is(err, clinic.ErrWrongBackupKey):
		return lang.L("That passphrase does not open this backup. Nothing was changed.")
	case errors.Is(err, clinic.ErrNotFound):
		return lang.L("The record was not found; it may have been deleted.")
	case errors.Is(err, clinic.ErrOtherModel):
		return lang.L("This assessment was made by a different model, so it cannot be re-analysed with this one.")
	}
	return lang.L("Something went wrong. Nothing you entered was lost; you can try again.")
}

// showError shows what failed, in clinic words, with the technical details folded away.
func (u *UI) showError(what string, err error) {
	u.log.Error(what, "err", err)
	msg := widget.NewLabel(explain(err))
	msg.Wrapping = fyne.TextWrapWord
	details := widget.NewLabel(err.Error())
	details.Wrapping = fyne.TextWrapWord
	details.TextStyle.Monospace = true
	body := container.NewVBox(msg, widget.NewAccordion(widget.NewAccordionItem(lang.L("Details"), details)))
	d := dialog.NewCustom(what, lang.L("Close"), body, u.win)
	d.Resize(u.dialogSize(520, 260))
	u.lastError = err
	d.Show()
}
