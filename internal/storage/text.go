package storage

import (
	"slices"

	"fmt"
	"github.com/mtibben/confusables"
	"strings"
	"unicode"
	"unicode/utf8"

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

// CodeKey is what makes two clinic codes the same code: compatibility-normalized (full-width
// "ＢＮ２" is "BN2"), case-folded, and reduced to its Unicode confusable skeleton (UTS #39,
// github.com/mtibben/confusables), so that codes that look the same are the same code: a
// Cyrillic "В" is a Latin "B", a U+2010 hyphen is "-", "0" and "O" are one. Invisible
// characters never reach it: TextField refuses them. Diacritics stay: they are rare in codes
// and a clinic may mean them.
func CodeKey(code string) string {
	// The skeleton before case folding ("В" is Latin "B"), and again after it (a lower-case
	// letter can have a look-alike of its own).
	k := strings.ToLower(confusables.Skeleton(norm.NFKC.String(NFC(code))))
	return strings.ToLower(norm.NFC.String(confusables.Skeleton(k)))
}

// blankLetters are letters that draw nothing (Hangul fillers, the blank Braille pattern, the
// Mongolian vowel separator): a code or name made of them looks like another, or like nothing.
var blankLetters = []rune{0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x17B4, 0x17B5}

// TextField is one kind of user text, with its limit in characters (not bytes: a Vietnamese
// name of 149 characters is about 200 bytes) and whether it may span lines.
type TextField struct {
	Name      string
	MaxChars  int
	MinChars  int
	Multiline bool
}

// The limits of every user text field: storage's CHECK constraints, the forms and the CLI
// all take them from here.
var (
	FieldCode       = TextField{Name: "clinic code", MinChars: 1, MaxChars: 64}
	FieldName       = TextField{Name: "name", MinChars: 1, MaxChars: 200}
	FieldPhone      = TextField{Name: "phone", MaxChars: 40}
	FieldAddress    = TextField{Name: "address", MaxChars: 500, Multiline: true}
	FieldNotes      = TextField{Name: "notes", MaxChars: 20000, Multiline: true}
	FieldSiteDetail = TextField{Name: "site detail", MaxChars: 200}
	FieldDiagnosis  = TextField{Name: "diagnosis", MaxChars: 500}
	FieldInsurance  = TextField{Name: "health-insurance number", MaxChars: 40}
	FieldIDNumber   = TextField{Name: "ID number", MaxChars: 40}
	FieldReferredTo = TextField{Name: "referred to", MaxChars: 200}
	FieldReason     = TextField{Name: "reason", MaxChars: 2000, Multiline: true}
)

// Clean normalizes s to NFC and checks it against the field's rules. It refuses, naming the
// character and its position, what would mislead a reader of a list or a report: invalid
// UTF-8, control characters (terminal escapes, BEL, CR; new lines only in multi-line fields),
// and invisible format characters (bidi overrides that reorder what is shown, zero-width
// characters that make two codes look alike).
func (f TextField) Clean(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %s is not valid UTF-8 text", ErrInvalid, f.Name)
	}
	s = NFC(s)
	pos := 0
	for _, r := range s {
		pos++
		switch {
		case f.Multiline && (r == '\n' || r == '\t'):
		case r == '\r' && f.Multiline:
			// Windows line ends are kept as the user typed them.
		case unicode.IsControl(r):
			return "", fmt.Errorf("%w: %s contains a control character (U+%04X) at character %d", ErrInvalid, f.Name, r, pos)
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), r == utf8.RuneError,
			unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r), slices.Contains(blankLetters, r):
			return "", fmt.Errorf("%w: %s contains an invisible formatting character (U+%04X) at character %d", ErrInvalid, f.Name, r, pos)
		}
	}
	n := utf8.RuneCountInString(s)
	if n < f.MinChars {
		if f.MinChars == 1 {
			return "", fmt.Errorf("%w: %s is empty", ErrInvalid, f.Name)
		}
		return "", fmt.Errorf("%w: %s is shorter than %d characters", ErrInvalid, f.Name, f.MinChars)
	}
	if n > f.MaxChars {
		return "", fmt.Errorf("%w: %s is %d characters; the limit is %d", ErrInvalid, f.Name, n, f.MaxChars)
	}
	return s, nil
}
