package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

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
