package storage

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NFC normalizes user text to Unicode NFC and trims surrounding space. Text typed on one
// keyboard and pasted from another can differ in composition; stored text must not.
func NFC(s string) string { return strings.TrimSpace(norm.NFC.String(s)) }

// Fold makes the search key of a name, code or phone: lower case, without diacritics, with
// đ/Đ as d, and runs of space collapsed, so "nguyen thi hong" finds "Nguyễn Thị Hồng" and
// "dang" finds "Đặng".
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	out = strings.NewReplacer("đ", "d", "Đ", "d").Replace(out)
	return strings.Join(strings.Fields(strings.ToLower(out)), " ")
}
