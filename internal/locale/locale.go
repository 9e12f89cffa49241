// Package locale holds Dermal's English and Vietnamese strings and date formats. The GUI loads
// the same embedded files into fyne/lang; the PDF report and other non-GUI code look strings up
// here for an explicit language, since a report may be printed in a language other than the
// desktop's.
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Translations holds one go-i18n JSON file per language ("en.json", "vi.json") under Dir.
//
//go:embed translations
var Translations embed.FS

// Dir is the folder inside Translations.
const Dir = "translations"

// Languages Dermal is translated into, in the order the settings list them.
var Languages = []string{"en", "vi"}

// Names are the languages' own names, for the settings.
var Names = map[string]string{"en": "English", "vi": "Tiếng Việt"}

// Default is the language used when none, or an unknown one, is asked for.
const Default = "en"

var (
	loadOnce sync.Once
	tables   map[string]map[string]string
	loadErr  error
)

func load() {
	tables = map[string]map[string]string{}
	for _, l := range Languages {
		data, err := Translations.ReadFile(Dir + "/" + l + ".json")
		if err != nil {
			loadErr = err
			return
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			loadErr = fmt.Errorf("translations %s: %w", l, err)
			return
		}
		tables[l] = m
	}
}

// Check reports whether the embedded translation files parse (a test and `doctor` call it).
func Check() error {
	loadOnce.Do(load)
	return loadErr
}

// Supported returns lang if Dermal is translated into it, otherwise Default. It accepts
// locale forms such as "vi_VN.UTF-8" or "vi-VN".
func Supported(lang string) string {
	base := strings.ToLower(lang)
	if i := strings.IndexAny(base, "_-."); i >= 0 {
		base = base[:i]
	}
	for _, l := range Languages {
		if l == base {
			return l
		}
	}
	return Default
}

// T translates key (the English text, or a dotted key such as "tier.urgent") into lang. A key
// missing from lang falls back to English, then to the key itself, so nothing prints blank.
func T(lang, key string) string {
	loadOnce.Do(load)
	if s, ok := tables[Supported(lang)][key]; ok && s != "" {
		return s
	}
	if s, ok := tables[Default][key]; ok && s != "" {
		return s
	}
	return key
}

// Date formats a calendar date the way the language's readers write it.
func Date(lang string, t time.Time) string {
	if Supported(lang) == "vi" {
		return t.Format("02/01/2006")
	}
	return t.Format("2 Jan 2006")
}

// DateTime formats a date and time of day (24-hour clock in both languages).
func DateTime(lang string, t time.Time) string {
	return Date(lang, t) + " " + t.Format("15:04")
}

// Decimal writes x with digits after the decimal separator the language's readers use: a
// comma in Vietnamese ("3,7"), a point in English ("3.7").
func Decimal(lang string, x float64, digits int) string {
	s := strconv.FormatFloat(x, 'f', digits, 64)
	if Supported(lang) == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Seconds writes a duration in seconds for people: one decimal, and "< 0.1" rather than a
// "0.0" that reads as nothing happened.
func Seconds(lang string, d time.Duration) string {
	if d < 100*time.Millisecond {
		return "< " + Decimal(lang, 0.1, 1)
	}
	return Decimal(lang, d.Seconds(), 1)
}

// Month names a month and its year: "Tháng 12 năm 2026", "December 2026".
func Month(lang string, t time.Time) string {
	if Supported(lang) == "vi" {
		return fmt.Sprintf("Tháng %d năm %d", int(t.Month()), t.Year())
	}
	return t.Format("January 2006")
}

// Weekdays are the short names of the days of the week, Monday first.
func Weekdays(lang string) []string {
	if Supported(lang) == "vi" {
		return []string{"T2", "T3", "T4", "T5", "T6", "T7", "CN"}
	}
	return []string{"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"}
}
