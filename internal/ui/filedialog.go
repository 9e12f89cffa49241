package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// favoritePlaces are the names Fyne's file dialog gives its side list of places, hard-coded
// in English in Fyne 2.7 (dialog/file.go, file_unix.go): shown translated instead (the
// clinic's day, item 12).
var favoritePlaces = []string{"Home", "App Files", "Computer", "Desktop", "Documents", "Downloads", "Music", "Pictures", "Videos", "Movies"}

// showFileDialog shows a file dialog with its places named in the clinic's language: the
// dialog's list of places keeps its own update function, which names each row, and this wraps
// it so that every row drawn, then and later, is translated.
func (u *UI) showFileDialog(d *dialog.FileDialog) {
	d.Show()
	top := u.win.Canvas().Overlays().Top()
	eachObject(top, func(o fyne.CanvasObject) {
		l, ok := o.(*widget.List)
		if !ok || l.UpdateItem == nil {
			return
		}
		update := l.UpdateItem
		l.UpdateItem = func(id widget.ListItemID, item fyne.CanvasObject) {
			update(id, item)
			eachObject(item, func(c fyne.CanvasObject) {
				if lbl, ok := c.(*widget.Label); ok {
					for _, p := range favoritePlaces {
						if lbl.Text == p {
							lbl.SetText(lang.L("place." + p))
						}
					}
				}
			})
		}
		l.Refresh()
	})
}

// eachObject visits o and what it holds through the toolkit's public fields: containers'
// objects, a pop-up's, a scroll's and a split's content (a widget's own rendered parts are
// not public outside Fyne's test package).
func eachObject(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	fn(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			eachObject(c, fn)
		}
	case *widget.PopUp:
		eachObject(v.Content, fn)
	case *container.Scroll:
		eachObject(v.Content, fn)
	case *container.Split:
		eachObject(v.Leading, fn)
		eachObject(v.Trailing, fn)
	}
}
