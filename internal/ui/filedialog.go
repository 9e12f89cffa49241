package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
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

// prefSaveDir is the folder the last file was saved in.
const prefSaveDir = "save_folder"

// saveAs asks where to save a file: a folder (Fyne's folder dialog, its places translated)
// and a name, offered as name. Fyne's own save dialog asked "Overwrite?" in English whatever
// the clinic's language (hard-coded in Fyne 2.7): here an existing file is asked about in the
// clinic's language, and then runs with the chosen path once the clinician has decided.
func (u *UI) saveAs(title, name string, then func(path string)) *saveAsForm {
	f := &saveAsForm{u: u, name: widget.NewEntry(), folder: widget.NewLabel("")}
	f.name.SetText(name)
	f.name.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, `/\\:`) {
			return errors.New(lang.L("enter a file name"))
		}
		return nil
	}
	dir := u.prefs.p.StringWithFallback(prefSaveDir, "")
	if st, err := os.Stat(dir); dir == "" || err != nil || !st.IsDir() {
		if home, err := os.UserHomeDir(); err == nil {
			dir = home
		}
	}
	f.setFolder(dir)
	f.folder.Wrapping = fyne.TextWrapBreak
	choose := widget.NewButtonWithIcon(lang.L("Choose folder…"), theme.FolderOpenIcon(), func() {
		d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
			if err == nil && l != nil {
				f.setFolder(l.Path())
			}
		}, u.win)
		if l, err := storage.ListerForURI(storage.NewFileURI(f.dir)); err == nil {
			d.SetLocation(l)
		}
		d.Resize(u.dialogSize(900, 600))
		u.showFileDialog(d)
	})
	items := []*widget.FormItem{
		widget.NewFormItem(lang.L("Save in folder"), container.NewBorder(nil, nil, nil, choose, f.folder)),
		widget.NewFormItem(lang.L("File name"), f.name),
	}
	f.dialog = dialog.NewForm(title, lang.L("Save"), lang.L("Cancel"), items, func(ok bool) {
		if !ok {
			return
		}
		path := filepath.Join(f.dir, strings.TrimSpace(f.name.Text))
		u.prefs.p.SetString(prefSaveDir, f.dir)
		if _, err := os.Stat(path); err != nil {
			then(path)
			return
		}
		c := dialog.NewConfirm(lang.L("Replace the file?"), fmt.Sprintf(lang.L("%s already exists in %s. Replace it?"), filepath.Base(path), f.dir),
			func(replace bool) {
				if replace {
					then(path)
				}
			}, u.win)
		c.SetConfirmText(lang.L("Replace"))
		c.SetDismissText(lang.L("Cancel"))
		f.replace = c
		c.Show()
	}, u.win)
	f.dialog.Resize(u.dialogSize(620, 220))
	f.dialog.Show()
	return f
}

// saveAsForm is the save question's form (tests reach its parts).
type saveAsForm struct {
	u       *UI
	dir     string
	folder  *widget.Label
	name    *widget.Entry
	dialog  *dialog.FormDialog
	replace dialog.Dialog // the question about an existing file, when asked
}

func (f *saveAsForm) setFolder(dir string) {
	f.dir = dir
	f.folder.SetText(dir)
}
