package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/locale"
)

// Every string the window translates with lang.L has a Vietnamese translation with the same
// format verbs, and every keyed string (tier.*, site.*, ...) exists in both languages.
func TestEveryStringIsTranslated(t *testing.T) {
	read := func(l string) map[string]string {
		data, err := locale.Translations.ReadFile(locale.Dir + "/" + l + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	en, vi := read("en"), read("vi")
	for k := range en {
		if _, ok := vi[k]; !ok {
			t.Errorf("%q is in en.json but not vi.json", k)
		}
	}
	files, _ := filepath.Glob("*.go")
	files = append(files, "../../desktop.go")
	keys := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "L" || sel.X.(*ast.Ident).Name != "lang" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok {
				s, _ := strconv.Unquote(lit.Value)
				keys[s] = fset.Position(lit.Pos()).String()
			}
			return true
		})
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d translated strings; is the scan broken?", len(keys))
	}
	verbs := regexp.MustCompile(`%[.0-9]*[a-z]`)
	for k, pos := range keys {
		v, ok := vi[k]
		if !ok {
			t.Errorf("%s: %q has no Vietnamese translation", pos, k)
			continue
		}
		source := k
		if e, ok := en[k]; ok {
			source = e // a dotted key: compare with its English text
		}
		if strings.Join(verbs.FindAllString(source, -1), " ") != strings.Join(verbs.FindAllString(v, -1), " ") {
			t.Errorf("%s: %q and its translation %q have different format verbs", pos, k, v)
		}
	}
	if err := locale.Check(); err != nil {
		t.Error(err)
	}
}

// Fyne's own strings (the file dialog's buttons and title, the date picker's days) are in
// Vietnamese too: a Vietnamese file dialog showed "Open File", "Cancel", "Enter filename".
func TestFyneDialogStringsInVietnamese(t *testing.T) {
	u, _ := newTestUI(t)
	SetLanguage("vi")
	for _, k := range []string{"Open", "Save", "Cancel", "File", "Folder", "Enter filename", "New Folder", "Create Folder", "Show Hidden Files",
		"Yes", "No", "Confirm", "Error", "Copy", "Cut", "Paste", "Select all", "Undo", "Redo", "(Parent)", "monday.short", "sunday.short"} {
		if got := lang.L(k); got == k || got == "" || strings.HasSuffix(k, ".short") && len(got) > 4 {
			t.Errorf("Fyne's %q shows as %q in Vietnamese", k, got)
		}
	}
	a := &assessScreen{u: u}
	a.openFile()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no file dialog")
	}
	var texts []string
	walk(top, func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			texts = append(texts, w.Text)
		case *widget.Button:
			texts = append(texts, w.Text)
		}
	})
	all := strings.Join(texts, "|")
	// The places down its side too (Fyne hard-codes "Home" and "Computer": the clinic's day,
	// item 12).
	for _, english := range []string{"Open File", "Cancel", "Show Hidden Files", "Home", "Computer"} {
		if strings.Contains(all, english) {
			t.Errorf("the Vietnamese file dialog shows %q: %s", english, all)
		}
	}
	if !strings.Contains(all, "Thư mục nhà") {
		t.Errorf("the places are not translated: %s", all)
	}
	if !strings.Contains(all, "Mở ảnh") || !strings.Contains(all, "Hủy") && !strings.Contains(all, "Huỷ") {
		t.Errorf("the Vietnamese file dialog lacks its title or Cancel: %s", all)
	}
	if s := top.Size(); s.Width > u.win.Canvas().Size().Width || s.Height > u.win.Canvas().Size().Height {
		t.Errorf("file dialog %v is bigger than the window %v", s, u.win.Canvas().Size())
	}
}

// The clinic's day, item 12: saving a file never meets Fyne's English "Overwrite?": an
// existing file is asked about in the clinic's language, and nothing is written until the
// clinician decides.
func TestSavingOverAFileAsksInVietnamese(t *testing.T) {
	u, _ := newTestUI(t)
	SetLanguage("vi")
	t.Cleanup(func() { SetLanguage("en") })
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "thu.pdf"), []byte("old"), 0o600)
	u.prefs.p.SetString(prefSaveDir, dir)
	var got string
	f := u.saveAs("Lưu thư", "thu.pdf", func(path string) { got = path })
	if f.dir != dir || f.name.Text != "thu.pdf" {
		t.Fatalf("offered %s / %s", f.dir, f.name.Text)
	}
	f.dialog.Submit()
	if got != "" || f.replace == nil {
		t.Fatalf("an existing file: written %q, asked %v", got, f.replace != nil)
	}
	txt := overlayText(u)
	if !strings.Contains(txt, "đã có trong") || strings.Contains(txt, "Overwrite") {
		t.Errorf("the question: %q", txt)
	}
	test.Tap(dialogButton(t, u, "Thay"))
	if got != filepath.Join(dir, "thu.pdf") {
		t.Errorf("after Replace: %q", got)
	}
	got = ""
	f = u.saveAs("Lưu thư", "moi.pdf", func(path string) { got = path })
	f.dialog.Submit()
	if got != filepath.Join(dir, "moi.pdf") {
		t.Errorf("a new file: %q", got)
	}
}
