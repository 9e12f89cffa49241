// Command fynehello is a bare Fyne window with one label: the benchmark's floor for what any
// Fyne app costs in memory on this machine's graphics stack. With -size WxH it opens at that
// size (Dermal's window is 1280×720 on a 1366×768 screen): the graphics stack's buffers grow
// with the window's area, so a label-sized window is a lower floor than any full window has.
package main

import (
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	_ "dermal/internal/localeenv"
)

func main() {
	size := flag.String("size", "", "open the window at WIDTHxHEIGHT (Fyne units); default: the label's size")
	flag.Parse()
	a := app.NewWithID("org.dermal.fynehello")
	w := a.NewWindow("hello")
	w.SetContent(widget.NewLabel("hello"))
	if *size != "" {
		var width, height float32
		if _, err := fmt.Sscanf(*size, "%fx%f", &width, &height); err != nil || width <= 0 || height <= 0 {
			fmt.Fprintf(os.Stderr, "fynehello: -size %q: want WIDTHxHEIGHT, such as 1280x720\n", *size)
			os.Exit(2)
		}
		w.Resize(fyne.NewSize(width, height))
	}
	w.ShowAndRun()
}
