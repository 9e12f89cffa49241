package ui

import (
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
)

// unsavedScreen is a screen that can hold work not yet in the records.
type unsavedScreen interface {
	screen
	unsaved() bool
}

// unsaved reports whether the open screen holds work that leaving it would lose.
func (u *UI) unsaved() bool {
	s, ok := u.screen.(unsavedScreen)
	return ok && s.unsaved()
}

// unsavedWork counts the assessments closing the window would lose: the open screen's (also
// when the window is locked over it) and the drafts kept for staff who were logged in before
// another member of staff logged in at the lock.
func (u *UI) unsavedWork() int {
	n := 0
	if u.unsaved() {
		n++
	}
	for _, d := range u.drafts {
		if s, ok := d.(unsavedScreen); ok && s.unsaved() {
			n++
		}
	}
	return n
}

// closeWindow closes the window when no work would be lost; otherwise it asks first (the
// clinic's day, item 2: a draft parked at the lock was lost without a word when the next
// user closed the window).
func (u *UI) closeWindow() {
	n := u.unsavedWork()
	if n == 0 {
		u.win.Close()
		return
	}
	msg := fmt.Sprintf(lang.L("%d assessment(s) not saved yet would be lost, some perhaps kept for a colleague who was logged in before you. To keep them, log in as their owner and save (Ctrl+S)."), n)
	d := dialog.NewConfirm(lang.L("Close Dermal and lose unsaved work?"), msg, func(discard bool) {
		if discard {
			u.log.Info("closed with unsaved assessments discarded", "count", n)
			u.drafts = map[clinic.UserID]screen{}
			u.win.Close()
		}
	}, u.win)
	d.SetConfirmText(lang.L("Close anyway"))
	d.SetDismissText(lang.L("Keep Dermal open"))
	u.closing = d
	d.Show()
}

// leave runs then when nothing unsaved would be lost: at once, or once the clinician has
// chosen to discard the unsaved work. If they keep it, stay runs instead (nil: nothing).
func (u *UI) leave(then, stay func()) {
	if !u.unsaved() {
		then()
		return
	}
	d := dialog.NewConfirm(lang.L("Discard the unsaved assessment?"),
		lang.L("The photo, result and findings on this screen are not saved yet. Save them first (Ctrl+S), or discard them."),
		func(discard bool) {
			if discard {
				u.log.Info("unsaved assessment discarded")
				then()
			} else if stay != nil {
				stay()
			}
		}, u.win)
	d.SetConfirmText(lang.L("Discard"))
	d.SetDismissText(lang.L("Keep editing"))
	d.Show()
}

// formEntry is a text field in which Ctrl+S saves and the window's other shortcuts (Ctrl+O,
// Ctrl+Enter, …) still work: a focused Fyne entry takes every shortcut itself, so the
// window's never fired while the clinician was typing.
type formEntry struct {
	widget.Entry
	onSave func()
	// window runs one of the window's shortcuts (UI.windowShortcut); false: not one of them.
	window func(fyne.Shortcut) bool
}

func newFormEntry(multiLine bool, onSave func()) *formEntry {
	e := &formEntry{onSave: onSave}
	e.MultiLine = multiLine
	if multiLine {
		e.Wrapping = fyne.TextWrapWord
	}
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut saves on Ctrl+S (Cmd+S), runs the window's own shortcuts, and leaves every
// other shortcut (copy, paste, select all) to the entry.
func (e *formEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && cs.KeyName == fyne.KeyS && cs.Modifier == fyne.KeyModifierShortcutDefault {
		if e.onSave != nil {
			e.onSave()
		}
		return
	}
	if e.window != nil && e.window(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}

// wheelPass lies over a multi-line text box and hands the mouse wheel to the pane the box sits
// in: Fyne's wrapping text box keeps a scroller of its own, which took the wheel even with
// nothing to scroll, so the panel stopped scrolling under the pointer (the clinic's day, item
// 5). It takes nothing else: taps, typing and the pointer's shape still reach the box below
// (it is neither tappable nor hoverable), and the box grows with its text instead of
// scrolling inside (growWithText).
type wheelPass struct {
	widget.BaseWidget
	to *container.Scroll
}

func newWheelPass() *wheelPass {
	w := &wheelPass{}
	w.ExtendBaseWidget(w)
	return w
}

// Scrolled scrolls the pane.
func (w *wheelPass) Scrolled(ev *fyne.ScrollEvent) {
	if w.to != nil {
		w.to.Scrolled(ev)
	}
}

func (w *wheelPass) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// growWithText makes a multi-line box show every line of its text (at least min rows), so
// that nothing in it needs the scroller the wheel no longer reaches.
func growWithText(e *formEntry, min int) {
	fit := func(s string) { e.SetMinRowsVisible(max(min, strings.Count(s, "\n")+2)) }
	fit(e.Text)
	prev := e.OnChanged
	e.OnChanged = func(s string) {
		fit(s)
		if prev != nil {
			prev(s)
		}
	}
}

// withWheelPass stacks a wheelPass over a multi-line box; the pane is set once it is made.
func withWheelPass(e *formEntry, min int) (fyne.CanvasObject, *wheelPass) {
	growWithText(e, min)
	p := newWheelPass()
	return container.NewStack(e, p), p
}
