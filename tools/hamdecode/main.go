// Command hamdecode decodes every training photo (HAM10000 and, for model 4, the ISIC Archive
// and acral folders: -images takes folders separated by commas) with the app's own intake
// (image/jpeg, EXIF orientation, portrait turned, centre-cropped to 4:3 and resized to the
// canonical 200x150 picture) into one raw file, so that training sees exactly
// the pixels the app will feed the model (`make decoded`; training/common.py load_image).
// PIL's JPEG decoder upsamples chroma differently from Go's: trained on PIL pixels, model 2.0's
// fp32 logits moved by up to 0.67 in the app and 2.2% of its test top classes changed.
//
// Output: FILE (N x 150 x 200 x 3 bytes, RGB, rows top to bottom) and FILE.ids (one image id
// a line, in the same order).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"dermal/internal/inference"
)

func main() {
	images := flag.String("images", "../shared/data/ham10000/images", "folders of JPEGs, separated by commas (image ids must not repeat)")
	out := flag.String("out", "build/decoded/all-go.u8", "raw output file")
	width := flag.Int("width", 200, "canonical width (the model card's input)")
	height := flag.Int("height", 150, "canonical height")
	flag.Parse()
	if err := run(*images, *out, *width, *height); err != nil {
		fmt.Fprintln(os.Stderr, "hamdecode:", err)
		os.Exit(1)
	}
}

func run(dir, out string, width, height int) error {
	var paths []string
	seen := map[string]string{}
	for _, d := range strings.Split(dir, ",") {
		found, err := filepath.Glob(filepath.Join(d, "*.jpg"))
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("no .jpg photos in %s", d)
		}
		for _, p := range found {
			id := filepath.Base(p)
			if other, ok := seen[id]; ok {
				return fmt.Errorf("photo %s is in both %s and %s", id, filepath.Dir(other), d)
			}
			seen[id] = p
		}
		paths = append(paths, found...)
	}
	slices.SortFunc(paths, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	// Written under temporary names and renamed at the end: a stopped run leaves no file
	// that training would take for a whole one.
	raw, err := os.Create(out + ".partial")
	if err != nil {
		return err
	}
	defer os.Remove(raw.Name())
	w := bufio.NewWriterSize(raw, 1<<20)
	var ids strings.Builder
	row := make([]byte, 3*width)
	for _, p := range paths {
		photo, err := inference.ReadPhotoFile(p)
		if err != nil {
			raw.Close()
			return err
		}
		pic := inference.Canonical(photo.Image, width, height)
		for y := 0; y < height; y++ {
			src := pic.Pix[y*pic.Stride : y*pic.Stride+4*width]
			for x := 0; x < width; x++ {
				copy(row[3*x:3*x+3], src[4*x:4*x+3])
			}
			if _, err := w.Write(row); err != nil {
				raw.Close()
				return err
			}
		}
		ids.WriteString(strings.TrimSuffix(filepath.Base(p), ".jpg") + "\n")
	}
	if err := w.Flush(); err != nil {
		raw.Close()
		return err
	}
	if err := raw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out+".ids.partial", []byte(ids.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(raw.Name(), out); err != nil {
		return err
	}
	fmt.Printf("decoded %d photos into %s\n", len(paths), out)
	return os.Rename(out+".ids.partial", out+".ids")
}
