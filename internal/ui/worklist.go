package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// worklistScreen is the home screen: which results could not be assessed, who is due back,
// and which referrals still wait for their outcome. One click on a line opens that lesion's latest assessment.
type worklistScreen struct {
	u    *UI
	list clinic.Worklist
	// rows are the lines' buttons in order (tests tap them); assessments what each opens.
	rows        []*widget.Button
	assessments []clinic.AssessmentID
	root        fyne.CanvasObject
}

func (w *worklistScreen) view() fyne.CanvasObject { return w.root }

func (u *UI) worklist() screen {
	w := &worklistScreen{u: u}
	list, err := u.clinic.Worklist(context.Background(), time.Now(), clinic.DefaultWorklistDays)
	if err != nil {
		u.showError(lang.L("Could not read the worklist."), err)
	}
	w.list = list
	box := container.NewVBox(widget.NewLabelWithStyle(fmt.Sprintf("%s — %s", lang.L("Today"), locale.Date(u.lang, list.Today)),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	section := func(title string, items []clinic.WorkItem, line func(clinic.WorkItem) string) {
		head := widget.NewLabelWithStyle(fmt.Sprintf("%s (%d)", title, len(items)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		box.Add(head)
		if len(items) == 0 {
			none := widget.NewLabel(lang.L("None."))
			none.Importance = widget.LowImportance
			box.Add(none)
			return
		}
		for _, it := range items {
			id := it.Assessment
			b := widget.NewButtonWithIcon(line(it), theme.NavigateNextIcon(), func() { u.leave(func() { u.showAssessment(id) }, nil) })
			b.Alignment = widget.ButtonAlignLeading
			b.Importance = widget.LowImportance
			w.rows = append(w.rows, b)
			w.assessments = append(w.assessments, id)
			box.Add(b)
		}
	}
	who := func(it clinic.WorkItem) string {
		s := fmt.Sprintf("%s %s — %s", it.Patient.Code, it.Patient.FullName, lesionTitle(it.Lesion))
		if it.Patient.Phone != "" {
			s += " — " + it.Patient.Phone
		}
		return s
	}
	due := func(it clinic.WorkItem) string {
		late := clinic.DaysBetween(*it.FollowUp, list.Today)
		when := locale.Date(u.lang, *it.FollowUp)
		switch {
		case late > 0:
			when += " · " + plural(late, lang.L("1 day late"), lang.L("%d days late"))
		case late < 0:
			when += " · " + plural(-late, lang.L("in 1 day"), lang.L("in %d days"))
		}
		return when + " — " + who(it)
	}
	// Results that assessed nothing come first: each may hide a lesion nobody has judged yet.
	section(lang.L("Could not be assessed: assess again"), list.CannotAssess, func(it clinic.WorkItem) string {
		return lang.L("tier."+it.RiskTier) + " · " + locale.Date(u.lang, it.TakenAt.Local()) + " — " + who(it)
	})
	section(lang.L("Follow-ups overdue"), list.Overdue, due)
	section(lang.L("Follow-ups due today"), list.DueToday, due)
	section(lang.L("Follow-ups this week"), list.Upcoming, due)
	section(lang.L("Urgent or review, no referral outcome yet"), list.Awaiting, func(it clinic.WorkItem) string {
		s := lang.L("tier."+it.RiskTier) + " · " + locale.Date(u.lang, it.TakenAt.Local())
		if !it.Referred {
			s += " · " + lang.L("no referral letter made")
		}
		return s + " — " + who(it)
	})
	help := widget.NewLabel(lang.L("welcome"))
	help.Wrapping = fyne.TextWrapWord
	help.Importance = widget.LowImportance
	disclaimer := widget.NewLabel(locale.T(u.lang, "disclaimer"))
	disclaimer.Wrapping = fyne.TextWrapWord
	box.Add(widget.NewSeparator())
	box.Add(help)
	box.Add(disclaimer)
	w.root = container.NewVScroll(box)
	return w
}

// plural picks the singular or the plural wording of a count (Vietnamese has one form, and
// its translations of both read the same).
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf(many, n)
}
