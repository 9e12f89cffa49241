package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
)

// mergeForm is the "merge into another patient" dialog (tests drive it).
type mergeForm struct {
	search  *widget.Entry
	found   []clinic.Patient
	choices *widget.RadioGroup
	dialog  dialog.Dialog
}

// mergeDialog merges this patient (registered twice) into another: every lesion and
// assessment moves there, and this record is hidden.
func (s *patientScreen) mergeDialog() *mergeForm {
	u := s.u
	f := &mergeForm{search: widget.NewEntry(), choices: widget.NewRadioGroup(nil, nil)}
	f.search.SetPlaceHolder(lang.L("Search name, code or phone (Ctrl+F)"))
	f.search.OnChanged = func(q string) {
		ps, err := u.clinic.SearchPatients(context.Background(), q, 20)
		if err != nil {
			u.showError(lang.L("Could not search the patients."), err)
			return
		}
		f.found = nil
		var opts []string
		for _, p := range ps {
			if p.ID != s.patient.ID {
				f.found = append(f.found, p)
				opts = append(opts, fmt.Sprintf("%s — %s", p.FullName, patientLine(p)))
			}
		}
		f.choices.Options = opts
		f.choices.Selected = ""
		f.choices.Refresh()
	}
	help := widget.NewLabel(fmt.Sprintf(lang.L("Every lesion and assessment of %s moves to the patient you choose, and this record is hidden."), s.patient.FullName))
	help.Wrapping = fyne.TextWrapWord
	f.dialog = dialog.NewCustomConfirm(lang.L("Merge into another patient"), lang.L("Merge"), lang.L("Cancel"),
		container.NewBorder(container.NewVBox(help, f.search), nil, nil, nil, container.NewVScroll(f.choices)), func(ok bool) {
			if ok {
				s.merge(f)
			}
		}, u.win)
	f.dialog.Resize(u.dialogSize(560, 420))
	f.dialog.Show()
	return f
}

func (s *patientScreen) merge(f *mergeForm) {
	u := s.u
	i := -1
	for k, o := range f.choices.Options {
		if o == f.choices.Selected {
			i = k
		}
	}
	if i < 0 {
		u.showError(lang.L("Nothing was merged."), fmt.Errorf("%w: %s", clinic.ErrInvalid, lang.L("choose the patient to merge into")))
		return
	}
	keep := f.found[i]
	if err := u.clinic.MergePatients(context.Background(), keep.ID, s.patient.ID); err != nil {
		u.showError(lang.L("Nothing was merged."), err)
		return
	}
	u.patients.refresh(u.patients.search.Text)
	u.openPatient(keep.ID)
}

// deleteDialog hides this patient (recoverable: dermal patients undelete).
func (s *patientScreen) deleteDialog() dialog.Dialog {
	u := s.u
	d := dialog.NewConfirm(lang.L("Delete patient"), fmt.Sprintf(lang.L("Hide %s and every assessment from the records? An administrator can bring them back (dermal patients undelete)."), s.patient.FullName), func(ok bool) {
		if ok {
			s.delete()
		}
	}, u.win)
	d.Show()
	return d
}

func (s *patientScreen) delete() {
	u := s.u
	if err := u.clinic.DeletePatient(context.Background(), s.patient.ID, false); err != nil {
		u.showError(lang.L("Could not delete the patient."), err)
		return
	}
	u.patients.refresh(u.patients.search.Text)
	u.show(u.worklist())
}
