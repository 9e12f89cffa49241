package localeenv

import (
	"os"
	"testing"
)

func TestFix(t *testing.T) {
	for _, tc := range []struct {
		lcAll, lang, language  string
		wantLang, wantLanguage string
	}{
		{"", "C.UTF-8", "", "C.UTF-8", "en"},
		{"", "C", "", "C.UTF-8", "en"},
		{"", "vi_VN.UTF-8", "", "vi_VN.UTF-8", ""},
		{"", "C.UTF-8", "vi", "C.UTF-8", "vi"},
		{"", "", "", "", "en"},
	} {
		t.Setenv("LC_ALL", tc.lcAll)
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", tc.lang)
		t.Setenv("LANGUAGE", tc.language)
		Fix()
		if got := os.Getenv("LANG"); got != tc.wantLang {
			t.Errorf("%+v: LANG %q", tc, got)
		}
		if got := os.Getenv("LANGUAGE"); got != tc.wantLanguage {
			t.Errorf("%+v: LANGUAGE %q", tc, got)
		}
	}
}
