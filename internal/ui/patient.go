package ui

import (
	"context"
	"fmt"
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// lesionHistory is one lesion with its assessments, oldest first.
type lesionHistory struct {
	Lesion      clinic.Lesion
	Assessments []clinic.Assessment
}

func groupByLesion(hs []clinic.HistoryEntry) []lesionHistory {
	var out []lesionHistory
	for _, h := range hs {
		if n := len(out); n > 0 && out[n-1].Lesion.ID == h.Lesion.ID {
			out[n-1].Assessments = append(out[n-1].Assessments, h.Assessment)
			continue
		}
		out = append(out, lesionHistory{h.Lesion, []clinic.Assessment{h.Assessment}})
	}
	return out
}

// patientScreen shows a patient and, per lesion, a timeline of assessments.
type patientScreen struct {
	u       *UI
	patient clinic.Patient
	lesions []lesionHistory
	newBtn  *widget.Button
	tiles   map[clinic.AssessmentID]*widget.Button // assessment id -> its tile's button (tests tap them)
	compare map[clinic.LesionID]*widget.Button     // lesion id -> compare button
	consent *widget.Label
	front   *bodyMap
	back    *bodyMap
	root    fyne.CanvasObject
}

func (s *patientScreen) view() fyne.CanvasObject { return s.root }

func newPatientScreen(u *UI, p clinic.Patient) *patientScreen {
	s := &patientScreen{u: u, patient: p, tiles: map[clinic.AssessmentID]*widget.Button{}, compare: map[clinic.LesionID]*widget.Button{}}
	hs, err := u.clinic.History(context.Background(), p.ID)
	if err != nil {
		u.showError(lang.L("Could not read the patient's history."), err)
	}
	s.lesions = groupByLesion(hs)

	name := widget.NewLabelWithStyle(p.FullName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	details := patientLine(p)
	if age := p.AgeAt(time.Now()); age > 0 {
		details += fmt.Sprintf(" · %s %d", lang.L("age"), age)
	}
	if p.Phone != "" {
		details += " · " + p.Phone
	}
	edit := widget.NewButtonWithIcon(lang.L("Edit"), theme.DocumentCreateIcon(), func() { u.editPatient(&s.patient) })
	s.newBtn = widget.NewButtonWithIcon(lang.L("New assessment"), theme.ContentAddIcon(), func() { s.newAssessment(0) })
	s.newBtn.Importance = widget.HighImportance
	more := widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), nil)
	more.OnTapped = func() {
		menu := fyne.NewMenu("",
			fyne.NewMenuItem(lang.L("Merge into another patient…"), func() { s.mergeDialog() }),
			fyne.NewMenuItem(lang.L("Delete patient…"), func() { s.deleteDialog() }))
		widget.ShowPopUpMenuAtRelativePosition(menu, u.win.Canvas(), fyne.NewPos(0, more.Size().Height), more)
	}
	s.consent = widget.NewLabel(consentLine(p))
	s.consent.Wrapping = fyne.TextWrapWord
	if p.ConsentPhotos != nil && !*p.ConsentPhotos || p.ConsentReferral != nil && !*p.ConsentReferral {
		s.consent.Importance = widget.WarningImportance
	}
	header := container.NewBorder(nil, nil, nil, container.NewHBox(edit, s.newBtn, more), container.NewVBox(name, widget.NewLabel(details), s.consent))

	list := container.NewVBox()
	if len(s.lesions) == 0 {
		list.Add(widget.NewLabel(lang.L("No assessments yet. Start one with “New assessment”.")))
	}
	for _, lh := range s.lesions {
		list.Add(s.lesionCard(lh))
	}
	s.root = container.NewBorder(header, nil, s.bodyMaps(), nil, container.NewVScroll(list))
	return s
}

// bodyMaps shows the patient's lesions on the front and back outlines, each dot in its
// latest tier's colour: a tap on a dot opens the lesion's latest assessment, a tap on the body
// starts a new assessment of a new lesion there.
func (s *patientScreen) bodyMaps() fyne.CanvasObject {
	s.front = newBodyMap(clinic.MapFront, lang.L("Front"))
	s.back = newBodyMap(clinic.MapBack, lang.L("Back"))
	s.front.width, s.back.width = patientMapWidth, patientMapWidth
	latest := map[clinic.LesionID]clinic.AssessmentID{}
	for _, lh := range s.lesions {
		last := lh.Assessments[len(lh.Assessments)-1]
		latest[lh.Lesion.ID] = last.ID
		if p, ok := clinic.LesionPoint(lh.Lesion); ok {
			m := s.front
			if p.View == clinic.MapBack {
				m = s.back
			}
			m.addDot(p, lh.Lesion.ID, last.RiskTier)
		}
	}
	for _, m := range []*bodyMap{s.front, s.back} {
		m.onDot = func(l clinic.LesionID) { s.u.showAssessment(latest[l]) }
		m.onPlace = func(p clinic.BodyPoint) {
			a := newAssessScreen(s.u, s.patient, s.lesions2(), 0)
			a.placeOnMap(p)
			s.u.show(a)
		}
	}
	hint := widget.NewLabel(lang.L("Tap the body to add a lesion there; tap a dot to open it."))
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	// In a scrolling pane: at 1024×600 the larger figures need more height than there is.
	return container.NewVScroll(container.NewBorder(nil, hint, nil, nil, container.NewGridWithColumns(2, s.front, s.back)))
}

func (s *patientScreen) lesions2() []clinic.Lesion {
	var out []clinic.Lesion
	for _, lh := range s.lesions {
		out = append(out, lh.Lesion)
	}
	return out
}

func (s *patientScreen) newAssessment(lesionID clinic.LesionID) {
	s.u.show(newAssessScreen(s.u, s.patient, s.lesions2(), lesionID))
}

func (s *patientScreen) lesionCard(lh lesionHistory) fyne.CanvasObject {
	row := container.NewHBox()
	for _, a := range lh.Assessments {
		row.Add(s.tile(a))
	}
	add := widget.NewButtonWithIcon(lang.L("Add photo"), theme.ContentAddIcon(), func() { s.newAssessment(lh.Lesion.ID) })
	cmp := widget.NewButtonWithIcon(lang.L("Compare"), theme.ViewRestoreIcon(), func() { s.u.show(newCompareScreen(s.u, s.patient, lh)) })
	if len(lh.Assessments) < 2 {
		cmp.Disable()
	}
	s.compare[lh.Lesion.ID] = cmp
	title := lesionTitle(lh.Lesion)
	sub := fmt.Sprintf("%s %s · %s", lang.L("first seen"), locale.Date(s.u.lang, lh.Lesion.FirstSeen.Local()), plural(len(lh.Assessments), lang.L("1 assessment"), lang.L("%d assessments")))
	return widget.NewCard(title, sub, container.NewBorder(nil, nil, nil, container.NewVBox(add, cmp), container.NewHScroll(row)))
}

// thumbSize is a timeline thumbnail on screen.
var thumbSize = fyne.NewSize(120, 90)

func (s *patientScreen) tile(a clinic.Assessment) fyne.CanvasObject {
	thumb := canvas.NewImageFromImage(nil)
	// Decoded in the background: a patient with many photos opens at once.
	background(s.u, nil, func() image.Image {
		img, err := s.u.clinic.Thumbnail(context.Background(), a)
		if err != nil {
			s.u.log.Error("thumbnail", "assessment", a.ID, "err", err)
		}
		return img
	}, func(img image.Image) {
		thumb.Image = img
		thumb.Refresh()
	})
	thumb.FillMode = canvas.ImageFillContain
	thumb.SetMinSize(thumbSize)
	tier := canvas.NewText(lang.L("tier."+a.RiskTier), tierColor(a.RiskTier))
	tier.TextStyle.Bold = true
	tier.TextSize = 12
	date := widget.NewLabel(locale.Date(s.u.lang, a.TakenAt.Local()))
	btn := widget.NewButton("", func() { s.u.showAssessment(a.ID) })
	s.tiles[a.ID] = btn
	lines := container.NewVBox(thumb, container.NewCenter(date), container.NewCenter(tier))
	// The referral loop on the timeline: referred, then what the specialist or histology said.
	switch {
	case a.OutcomeSource != "":
		o := canvas.NewText(lang.L(outcomeSourceName(a.OutcomeSource))+": "+truncate(a.OutcomeDiagnosis, 18), theme.Color(theme.ColorNameForeground))
		o.TextSize = 11
		lines.Add(container.NewCenter(o))
	case a.Referred:
		o := canvas.NewText(lang.L("Referred"), theme.Color(theme.ColorNameForeground))
		o.TextSize = 11
		lines.Add(container.NewCenter(o))
	}
	return container.NewStack(btn, container.NewPadded(lines))
}

// truncate shortens s to n characters with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
