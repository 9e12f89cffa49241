package main

import (
	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.3/glfw"
)

// Window sizes, in Fyne units: the size the window opens at on a large screen, and what the
// window frame and a taskbar take that the work area does not already leave out.
const (
	preferredWidth, preferredHeight = 1280, 720
	frameAllowance                  = 40
)

// fitToScreen shrinks the window to the primary monitor's work area (the screen less the
// taskbar) when that is smaller than the preferred size: on a 1024×600 netbook a 1280×720
// window put Save and the dialogs' buttons off-screen. Fyne has no screen-size API, but its
// desktop driver runs on GLFW (initialized by then), so this asks GLFW on the main thread.
func fitToScreen(w fyne.Window) {
	m := glfw.GetPrimaryMonitor()
	if m == nil {
		return
	}
	_, _, width, height := m.GetWorkarea()
	if width <= 0 || height <= 0 {
		return
	}
	scale := w.Canvas().Scale()
	if scale <= 0 {
		scale = 1
	}
	fw := min(float32(preferredWidth), float32(width)/scale)
	fh := min(float32(preferredHeight), float32(height)/scale-frameAllowance)
	if fw < preferredWidth || fh < preferredHeight {
		w.Resize(fyne.NewSize(fw, fh))
		w.CenterOnScreen()
	}
}
