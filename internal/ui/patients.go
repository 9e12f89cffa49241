package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// patientList is the searchable list on the left.
type patientList struct {
	u      *UI
	search *widget.Entry
	list   *widget.List
	items  []clinic.Patient
	view   fyne.CanvasObject

	typing   debounce // one search once typing pauses, not one per key
	searches latest   // a slow search never overwrites a newer one's result
}

// searchDelay is how long typing must pause before the list is searched.
const searchDelay = 250 * time.Millisecond

// listLimit caps the list; the search narrows it (the clinic's records can be 100,000 people).
const listLimit = 200

func newPatientList(u *UI) *patientList {
	pl := &patientList{u: u, typing: debounce{wait: searchDelay}}
	pl.search = widget.NewEntry()
	pl.search.SetPlaceHolder(lang.L("Search name, code or phone (Ctrl+F)"))
	pl.search.OnChanged = func(q string) { pl.typing.call(pl.u, func() { pl.refresh(q) }) }
	pl.list = widget.NewList(func() int { return len(pl.items) },
		func() fyne.CanvasObject {
			name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			name.Truncation = fyne.TextTruncateEllipsis
			return container.NewVBox(name, widget.NewLabel(""))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			p := pl.items[i]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(p.FullName)
			box.Objects[1].(*widget.Label).SetText(patientLine(p))
		})
	pl.list.OnSelected = func(i widget.ListItemID) {
		if i < len(pl.items) {
			id := pl.items[i].ID
			pl.u.leave(func() { pl.u.openPatient(id) }, func() { pl.list.UnselectAll() })
		}
	}
	pl.view = container.NewBorder(pl.search, nil, nil, nil, pl.list)
	return pl
}

// patientLine is the second line under a name: code, sex, birth year.
func patientLine(p clinic.Patient) string {
	s := p.Code
	if p.Sex != "" {
		s += " · " + sexWord(p.Sex)
	}
	if p.BirthYear > 0 {
		s += fmt.Sprintf(" · %d", p.BirthYear)
	}
	return s
}

func sexWord(s string) string {
	switch s {
	case "F":
		return lang.L("Female")
	case "M":
		return lang.L("Male")
	}
	return ""
}

// refresh searches the records off the UI thread and shows the result of the newest search.
func (pl *patientList) refresh(query string) {
	type found struct {
		ps  []clinic.Patient
		err error
	}
	background(pl.u, &pl.searches, func() found {
		ps, err := pl.u.clinic.SearchPatients(context.Background(), query, listLimit)
		return found{ps, err}
	}, func(f found) {
		if f.err != nil {
			pl.u.showError(lang.L("Could not search the patients."), f.err)
			return
		}
		pl.items = f.ps
		pl.list.UnselectAll()
		pl.list.Refresh()
	})
}

// patientForm is the add/edit patient dialog. It stays open when saving fails, so nothing
// typed is lost.
type patientForm struct {
	code, name, birthYear, phone, address *widget.Entry
	insurance, idNumber                   *widget.Entry
	consentPhotos, consentReferral        *widget.Select
	notes                                 *widget.Entry
	sex                                   *widget.RadioGroup
	save                                  *widget.Button
	dialog                                dialog.Dialog
	editing                               *clinic.Patient
	similar                               dialog.Dialog // "already registered?", when shown
}

// editPatient opens the patient form: a new patient when p is nil.
func (u *UI) editPatient(p *clinic.Patient) *patientForm {
	f := &patientForm{editing: p}
	f.code, f.name, f.birthYear, f.phone, f.address = widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	f.insurance, f.idNumber = widget.NewEntry(), widget.NewEntry()
	f.consentPhotos, f.consentReferral = consentSelect(), consentSelect()
	f.insurance.SetPlaceHolder("GD4010123456789")
	f.notes = widget.NewMultiLineEntry()
	f.notes.Wrapping = fyne.TextWrapWord
	f.notes.SetMinRowsVisible(3)
	f.sex = widget.NewRadioGroup([]string{lang.L("Female"), lang.L("Male")}, nil)
	f.sex.Horizontal = true
	f.birthYear.SetPlaceHolder(fmt.Sprintf("%d", time.Now().Year()-40))
	title := lang.L("New patient")
	if p != nil {
		title = lang.L("Edit patient")
		f.code.SetText(p.Code)
		f.name.SetText(p.FullName)
		if p.BirthYear > 0 {
			f.birthYear.SetText(strconv.Itoa(p.BirthYear))
		}
		f.phone.SetText(p.Phone)
		f.address.SetText(p.Address)
		f.insurance.SetText(p.InsuranceNumber)
		setConsent(f.consentPhotos, p.ConsentPhotos)
		setConsent(f.consentReferral, p.ConsentReferral)
		f.idNumber.SetText(p.IDNumber)
		f.notes.SetText(p.Notes)
		f.sex.SetSelected(sexWord(p.Sex))
	}
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Full name"), f.name),
		widget.NewFormItem(lang.L("Clinic code"), f.code),
		widget.NewFormItem(lang.L("Sex"), f.sex),
		widget.NewFormItem(lang.L("Birth year"), f.birthYear),
		widget.NewFormItem(lang.L("Phone"), f.phone),
		widget.NewFormItem(lang.L("Address"), f.address),
		widget.NewFormItem(lang.L("Health insurance (BHYT) no."), f.insurance),
		widget.NewFormItem(lang.L("ID card no."), f.idNumber),
		widget.NewFormItem(lang.L("Consent: photos stored"), f.consentPhotos),
		widget.NewFormItem(lang.L("Consent: shared for referral"), f.consentReferral),
		widget.NewFormItem(lang.L("Notes"), f.notes),
	)
	cancel := widget.NewButtonWithIcon(lang.L("Cancel"), theme.CancelIcon(), func() { f.dialog.Hide() })
	f.save = widget.NewButtonWithIcon(lang.L("Save"), theme.DocumentSaveIcon(), func() { u.savePatient(f) })
	f.save.Importance = widget.HighImportance
	// The form scrolls above fixed buttons, so Save stays on screen at 1024×600.
	body := container.NewBorder(nil, container.NewHBox(layoutSpacer(), cancel, f.save), nil, nil, container.NewVScroll(form))
	f.dialog = dialog.NewCustomWithoutButtons(title, body, u.win)
	f.dialog.Resize(u.dialogSize(540, 480))
	f.dialog.Show()
	u.win.Canvas().Focus(f.name)
	return f
}

func (u *UI) savePatient(f *patientForm) {
	p := clinic.Patient{Code: f.code.Text, FullName: f.name.Text, Phone: f.phone.Text, Address: f.address.Text, Notes: f.notes.Text,
		InsuranceNumber: f.insurance.Text, IDNumber: f.idNumber.Text,
		ConsentPhotos: consentOf(f.consentPhotos), ConsentReferral: consentOf(f.consentReferral)}
	if f.editing != nil && sameConsent(f.editing.ConsentPhotos, p.ConsentPhotos) && sameConsent(f.editing.ConsentReferral, p.ConsentReferral) {
		p.ConsentAt = f.editing.ConsentAt // unchanged consent keeps its date
	}
	switch f.sex.Selected {
	case lang.L("Female"):
		p.Sex = "F"
	case lang.L("Male"):
		p.Sex = "M"
	}
	if f.birthYear.Text != "" {
		y, err := strconv.Atoi(f.birthYear.Text)
		if err != nil {
			u.showError(lang.L("Could not save the patient."), fmt.Errorf("%w: birth year %q is not a year", clinic.ErrInvalid, f.birthYear.Text))
			return
		}
		p.BirthYear = y
	}
	u.storePatient(f, p, false)
}

// storePatient adds or updates the patient. A new patient who looks like one already
// registered (same name and birth year, or same phone) is not added until the clinician has
// seen the existing record and said this is another person.
func (u *UI) storePatient(f *patientForm, p clinic.Patient, allowSimilar bool) {
	ctx := context.Background()
	var err error
	if f.editing != nil {
		p.ID = f.editing.ID
		p, err = u.clinic.UpdatePatient(ctx, p)
	} else {
		p.ID, err = u.clinic.AddPatient(ctx, p, allowSimilar)
	}
	var similar *clinic.SimilarPatientsError
	if errors.As(err, &similar) {
		f.similar = u.similarDialog(similar.Similar, func() { u.storePatient(f, p, true) }, func(existing clinic.Patient) {
			f.dialog.Hide()
			u.leave(func() { u.openPatient(existing.ID) }, nil)
		})
		return
	}
	if err != nil {
		u.showError(lang.L("Could not save the patient."), err)
		return
	}
	f.dialog.Hide()
	u.patientChanged(p)
}

// similarDialog lists the registered patients a new one may be, offering to open one of them
// or to add the new patient anyway.
func (u *UI) similarDialog(similar []clinic.Patient, addAnyway func(), open func(clinic.Patient)) dialog.Dialog {
	rows := container.NewVBox(widget.NewLabel(lang.L("This may be a patient who is already registered:")))
	var d dialog.Dialog
	for _, p := range similar {
		p := p
		rows.Add(widget.NewButton(fmt.Sprintf("%s — %s · %s", p.FullName, patientLine(p), p.Phone), func() {
			d.Hide()
			open(p)
		}))
	}
	d = dialog.NewCustomConfirm(lang.L("Already registered?"), lang.L("Add as a new patient"), lang.L("Cancel"), rows, func(add bool) {
		if add {
			addAnyway()
		}
	}, u.win)
	d.Show()
	return d
}

// consentChoices are a consent select's options: not asked, agreed, refused.
func consentChoices() []string {
	return []string{lang.L("not asked"), lang.L("agreed"), lang.L("refused")}
}

func consentSelect() *widget.Select {
	s := widget.NewSelect(consentChoices(), nil)
	s.SetSelectedIndex(0)
	return s
}

func setConsent(s *widget.Select, b *bool) {
	switch {
	case b == nil:
		s.SetSelectedIndex(0)
	case *b:
		s.SetSelectedIndex(1)
	default:
		s.SetSelectedIndex(2)
	}
}

func consentOf(s *widget.Select) *bool {
	switch s.SelectedIndex() {
	case 1:
		b := true
		return &b
	case 2:
		b := false
		return &b
	}
	return nil
}

func sameConsent(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// consentLine says what the patient agreed to, for the patient screen.
func consentLine(p clinic.Patient) string {
	word := func(b *bool) string {
		c := consentChoices()
		switch {
		case b == nil:
			return c[0]
		case *b:
			return c[1]
		}
		return c[2]
	}
	s := fmt.Sprintf("%s: %s · %s: %s", lang.L("Consent: photos stored"), word(p.ConsentPhotos), lang.L("Consent: shared for referral"), word(p.ConsentReferral))
	if p.ConsentAt != nil {
		s += " (" + locale.Date(currentLanguage(), *p.ConsentAt) + ")"
	}
	return s
}
