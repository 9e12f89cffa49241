package main

import (
	"dermal/internal/testtool"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The real binary opens its window under Xvfb and draws something: a screenshot of the screen
// is not one flat colour, and the window shows a saved assessment (photo, bars) when asked.
func TestDesktopSmokeUnderXvfb(t *testing.T) {
	testtool.Need(t, "xvfb-run", "import", "convert")
	dir := t.TempDir()
	bin := filepath.Join(dir, "dermal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte("admin password\n"), 0o600)
	login := []string{"--user", "admin", "--password-file", pw}
	for _, args := range [][]string{
		{"setup", "--clinic", "Trạm Y tế", "--admin", "admin", "--password-file", pw},
		append(login, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1", "--sex", "F", "--birth-year", "1961"),
		append(login, "assess", "--patient", "BN-1", "--site", "back", "internal/inference/testdata/fixtures/ISIC_0024367.png"),
	} {
		if out, err := exec.Command(bin, append([]string{"--data", data}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	shot := filepath.Join(dir, "shot.png")
	cmd := exec.Command("scripts/screenshot.sh", append([]string{shot, "vi", data}, append(login, "--open", "1")...)...)
	cmd.Env = append(os.Environ(), "DERMAL_BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colours, dominant := colourStats(img)
	t.Logf("screenshot: %d colours, the commonest covers %.0f%% of the screen", colours, 100*dominant)
	if colours < 500 || dominant > 0.9 {
		t.Errorf("the window looks blank: %d colours, one colour covers %.0f%%", colours, 100*dominant)
	}
}

func colourStats(img image.Image) (int, float64) {
	counts := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	return len(counts), float64(most) / float64(b.Dx()*b.Dy())
}
