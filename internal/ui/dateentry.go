package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/locale"
)

// newDateEntry is Fyne's date field with a calendar of Dermal's own: Fyne's prints its month
// with Go's English names ("December 2026", hard-coded in widget.Calendar), which a clinic
// reading Vietnamese met in every date field (the clinic's day, item 12). The field itself,
// its typing and its Date are Fyne's.
func (u *UI) newDateEntry() *widget.DateEntry {
	e := widget.NewDateEntry()
	var pop *widget.PopUp
	btn := widget.NewButtonWithIcon("", theme.CalendarIcon(), func() {
		month := time.Now()
		if e.Date != nil {
			month = *e.Date
		}
		cal := newCalendar(u.lang, month, func(d time.Time) {
			e.SetDate(&d)
			if pop != nil {
				pop.Hide()
			}
		})
		c := fyne.CurrentApp().Driver().CanvasForObject(e)
		if c == nil {
			return
		}
		pop = widget.NewPopUp(cal, c)
		size := fyne.NewSize(max(e.Size().Width, 280), pop.MinSize().Height)
		// Under the field, or above it where the window ends first (at 1024×600 the field is
		// often near the bottom), and never past the window's right edge.
		field := fyne.CurrentApp().Driver().AbsolutePositionForObject(e)
		pos := field.Add(fyne.NewPos(0, e.Size().Height))
		if win := c.Size(); pos.Y+size.Height > win.Height {
			pos.Y = max(0, min(field.Y, win.Height)-size.Height)
		}
		if win := c.Size(); pos.X+size.Width > win.Width {
			pos.X = max(0, win.Width-size.Width)
		}
		pop.ShowAtPosition(pos)
		pop.Resize(size)
	})
	btn.Importance = widget.LowImportance
	e.ActionItem = btn // set before the field is drawn: Fyne then keeps it instead of its own
	return e
}

// calendar is a month of days to pick from, its header and weekdays in the clinic's
// language, weeks starting on Monday as in Vietnam.
type calendar struct {
	lang  string
	month time.Time
	pick  func(time.Time)
	label *widget.Label
	days  *fyne.Container
}

func newCalendar(lang string, month time.Time, pick func(time.Time)) *fyne.Container {
	c := &calendar{lang: lang, pick: pick, label: widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		days: container.NewGridWithColumns(7)}
	prev := widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { c.show(c.month.AddDate(0, -1, 0)) })
	next := widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { c.show(c.month.AddDate(0, 1, 0)) })
	prev.Importance, next.Importance = widget.LowImportance, widget.LowImportance
	c.show(month)
	return container.NewBorder(container.NewBorder(nil, nil, prev, next, c.label), nil, nil, nil, c.days)
}

func (c *calendar) show(month time.Time) {
	c.month = time.Date(month.Year(), month.Month(), 1, 12, 0, 0, 0, time.Local)
	c.label.SetText(locale.Month(c.lang, c.month))
	var objs []fyne.CanvasObject
	for _, d := range locale.Weekdays(c.lang) {
		objs = append(objs, widget.NewLabelWithStyle(d, fyne.TextAlignCenter, fyne.TextStyle{}))
	}
	for range (int(c.month.Weekday()) + 6) % 7 { // Monday first
		objs = append(objs, widget.NewLabel(""))
	}
	for d := c.month; d.Month() == c.month.Month(); d = d.AddDate(0, 0, 1) {
		day := d
		b := widget.NewButton(day.Format("2"), func() { c.pick(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.Local)) })
		b.Importance = widget.LowImportance
		objs = append(objs, b)
	}
	c.days.Objects = objs
	c.days.Refresh()
}
