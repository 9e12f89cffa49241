// Command fynehello is a bare Fyne window with one label: the benchmark's floor for what any
// Fyne app costs in memory on this machine's graphics stack.
package main

import (
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	_ "dermal/internal/localeenv"
)

func main() {
	a := app.NewWithID("org.dermal.fynehello")
	w := a.NewWindow("hello")
	w.SetContent(widget.NewLabel("hello"))
	w.ShowAndRun()
}
