package ui

import (
	"context"
	"fmt"
	"slices"
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
// and which referrals still wait for their outcome. One click on a line opens that lesion's
// latest assessment.
//
// The lines are a virtualised list (widget.List): only the rows on screen exist as widgets.
// A VBox of one button per line took minutes to lay out at 10,000 patients (each Add lays out
// all the others again), and the window never opened.
type worklistScreen struct {
	u    *UI
	list clinic.Worklist
	// lines are the list's rows in order: section headings (assessment 0) and items.
	lines []worklistLine
	root  fyne.CanvasObject
}

// worklistLine is one row: a section heading, "None." under an empty section, or an item.
type worklistLine struct {
	text       string
	heading    bool
	assessment clinic.AssessmentID // 0 for a heading or "None."
}

func (w *worklistScreen) view() fyne.CanvasObject { return w.root }

// items are the lines that open an assessment, in order (tests read them).
func (w *worklistScreen) items() []worklistLine {
	var out []worklistLine
	for _, l := range w.lines {
		if l.assessment != 0 {
			out = append(out, l)
		}
	}
	return out
}

// open opens the assessment of item line i (as a tap on it does).
func (w *worklistScreen) open(id clinic.AssessmentID) {
	w.u.leave(func() { w.u.showAssessment(id) }, nil)
}

// todayPerSection is the most lines a section of Today lists (its heading counts them all):
// the most urgent first, and the window opens at once at 100,000 patients.
const todayPerSection = 200

func (u *UI) worklist() screen {
	list, err := u.clinic.WorklistTop(context.Background(), time.Now(), clinic.DefaultWorklistDays, todayPerSection, nil)
	if err != nil {
		u.showError(lang.L("Could not read the worklist."), err)
	}
	return u.worklistOf(list)
}

// worklistOf builds the home screen for a worklist.
func (u *UI) worklistOf(list clinic.Worklist) *worklistScreen {
	w := &worklistScreen{u: u, list: list}
	section := func(title string, items []clinic.WorkItem, total int, line func(clinic.WorkItem) string) {
		total = max(total, len(items))
		w.lines = append(w.lines, worklistLine{text: fmt.Sprintf("%s (%d)", title, total), heading: true})
		if len(items) == 0 {
			w.lines = append(w.lines, worklistLine{text: lang.L("None.")})
			return
		}
		for _, it := range items {
			w.lines = append(w.lines, worklistLine{text: line(it), assessment: it.Assessment})
		}
		if more := total - len(items); more > 0 {
			w.lines = append(w.lines, worklistLine{text: fmt.Sprintf(lang.L("… and %d more: the most urgent are above; find a patient by name or code, or list them all with dermal followups."), more)})
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
	section(lang.L("Could not be assessed: assess again"), list.CannotAssess, list.Totals[clinic.SectionCannotAssess], func(it clinic.WorkItem) string {
		return lang.L("tier."+it.RiskTier) + " · " + locale.Date(u.lang, it.TakenAt.Local()) + " — " + who(it)
	})
	section(lang.L("Follow-ups overdue"), list.Overdue, list.Totals[clinic.SectionOverdue], due)
	section(lang.L("Follow-ups due today"), list.DueToday, list.Totals[clinic.SectionToday], due)
	section(lang.L("Follow-ups this week"), list.Upcoming, list.Totals[clinic.SectionUpcoming], due)
	// The most urgent first: urgent before review, then the oldest.
	awaiting := slices.Clone(list.Awaiting)
	slices.SortStableFunc(awaiting, func(a, b clinic.WorkItem) int {
		ua, ub := a.RiskTier == string(clinic.TierUrgent), b.RiskTier == string(clinic.TierUrgent)
		switch {
		case ua && !ub:
			return -1
		case ub && !ua:
			return 1
		}
		return a.TakenAt.Compare(b.TakenAt)
	})
	section(lang.L("Urgent or review, no referral outcome yet"), awaiting, list.Totals[clinic.SectionAwaiting], func(it clinic.WorkItem) string {
		s := lang.L("tier."+it.RiskTier) + " · " + locale.Date(u.lang, it.TakenAt.Local())
		if !it.Referred {
			s += " · " + lang.L("no referral letter made")
		} else if h := hubLine(it); h != "" {
			s += " · " + h
		}
		return s + " — " + who(it)
	})
	rows := widget.NewList(func() int { return len(w.lines) },
		func() fyne.CanvasObject {
			heading := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			heading.Truncation = fyne.TextTruncateEllipsis
			item := widget.NewButtonWithIcon("", theme.NavigateNextIcon(), nil)
			item.Alignment = widget.ButtonAlignLeading
			item.Importance = widget.LowImportance
			return container.NewStack(heading, item)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			l := w.lines[i]
			heading, item := o.(*fyne.Container).Objects[0].(*widget.Label), o.(*fyne.Container).Objects[1].(*widget.Button)
			if l.assessment == 0 {
				heading.TextStyle.Bold = l.heading
				heading.Importance = widget.MediumImportance
				if !l.heading {
					heading.Importance = widget.LowImportance
				}
				heading.SetText(l.text)
				heading.Show()
				item.Hide()
				return
			}
			id := l.assessment
			item.SetText(l.text)
			item.OnTapped = func() { w.open(id) }
			item.Show()
			heading.Hide()
		})
	rows.OnSelected = func(i widget.ListItemID) {
		rows.Unselect(i) // a tap on a row's button opens it; selecting shows nothing
	}
	title := widget.NewLabelWithStyle(fmt.Sprintf("%s — %s", lang.L("Today"), locale.Date(u.lang, list.Today)),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	top := container.NewVBox(title)
	if len(w.items()) == 0 {
		// Nothing to do yet (a new clinic): say how to begin. A busy day's list keeps the room.
		help := widget.NewLabel(lang.L("welcome"))
		help.Wrapping = fyne.TextWrapWord
		help.Importance = widget.LowImportance
		top.Add(help)
	}
	disclaimer := widget.NewLabel(locale.T(u.lang, "disclaimer"))
	disclaimer.Wrapping = fyne.TextWrapWord
	disclaimer.SizeName = theme.SizeNameCaptionText
	w.root = container.NewBorder(top, container.NewVBox(widget.NewSeparator(), disclaimer), nil, nil, rows)
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
