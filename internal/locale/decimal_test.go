package locale

import (
	"testing"
	"time"
)

// The clinic's day, item 12: Vietnamese readers write a decimal comma ("3,7 mm"), and no
// time is printed as a "0.0 s" that reads as nothing happened.
func TestDecimalAndSeconds(t *testing.T) {
	for _, c := range []struct {
		lang string
		x    float64
		want string
	}{{"vi", 3.7, "3,7"}, {"en", 3.7, "3.7"}, {"vi", 12, "12,0"}} {
		if got := Decimal(c.lang, c.x, 1); got != c.want {
			t.Errorf("Decimal(%s, %v) = %q, want %q", c.lang, c.x, got, c.want)
		}
	}
	if got := Seconds("vi", 40*time.Millisecond); got != "< 0,1" {
		t.Errorf("40 ms in Vietnamese: %q", got)
	}
	if got := Seconds("en", 1260*time.Millisecond); got != "1.3" {
		t.Errorf("1.26 s: %q", got)
	}
}
