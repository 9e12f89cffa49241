package ui

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
	"github.com/disintegration/imaging"
)

// recentCount is how many of the folder's newest photos the strip shows.
const recentCount = 6

// recentPhotos is a strip of thumbnails of the newest photos in the photo folder (the last
// one a photo was opened from, else Pictures): Fyne's file dialog shows no thumbnails, and a
// clinic's photos arrive there from the phone or the camera's card.
type recentPhotos struct {
	a      *assessScreen
	dir    string
	files  []recentFile
	thumbs []*widget.Button
	images []*canvas.Image
	box    *fyne.Container
}

// newestPhotos lists up to n photo files in dir, newest first.
func newestPhotos(dir string, n int) []recentFile {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type file struct {
		path string
		mod  int64
		size int64
	}
	var fs []file
	for _, e := range entries {
		if e.IsDir() || !slices.Contains(photoExtensions, filepath.Ext(e.Name())) && !slices.Contains(photoExtensions, strings.ToLower(filepath.Ext(e.Name()))) {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			fs = append(fs, file{filepath.Join(dir, e.Name()), info.ModTime().UnixNano(), info.Size()})
		}
	}
	slices.SortFunc(fs, func(a, b file) int { return int(b.mod - a.mod) })
	var out []recentFile
	for i := 0; i < len(fs) && i < n; i++ {
		out = append(out, recentFile{fs[i].path, fmt.Sprintf("%s|%d|%d", fs[i].path, fs[i].mod, fs[i].size)})
	}
	return out
}

// recentFile is a photo file and the key its thumbnail is cached under (path, time, size).
type recentFile struct{ path, key string }

// thumbCacheSize bounds the thumbnails kept between assessment screens (a few per photo
// folder: every new assessment shows the same ones, and each costs a full decode).
const thumbCacheSize = 64

func newRecentPhotos(a *assessScreen) *recentPhotos {
	r := &recentPhotos{a: a, box: container.NewHBox()}
	r.dir = a.u.prefs.PhotoFolder()
	if r.dir == "" {
		return r
	}
	r.files = newestPhotos(r.dir, recentCount)
	if len(r.files) == 0 {
		return r
	}
	r.box.Add(widget.NewLabel(lang.L("Recent:")))
	for _, f := range r.files {
		path, key := f.path, f.key
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(56, 42))
		r.images = append(r.images, img)
		b := widget.NewButton("", func() { a.replacePhoto(func() { a.loadFile(path) }) })
		r.thumbs = append(r.thumbs, b)
		r.box.Add(container.NewStack(b, container.NewPadded(img)))
		if t, ok := a.u.thumbs[key]; ok {
			img.Image = t
			continue
		}
		// Decoded in the background, under the memory watchdog like any photo, once per
		// file version (the cache, on the UI thread).
		background(a.u, nil, func() image.Image {
			p, err := a.u.clinic.ReadPhoto(path)
			if err != nil {
				return nil
			}
			return imaging.Fit(p.Image, 112, 84, imaging.Box)
		}, func(t image.Image) {
			if t != nil {
				if len(a.u.thumbs) >= thumbCacheSize {
					clear(a.u.thumbs)
				}
				a.u.thumbs[key] = t
			}
			img.Image = t
			img.Refresh()
		})
	}
	return r
}
