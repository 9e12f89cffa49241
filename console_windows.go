package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// The Windows build is a GUI program (-H windowsgui), so double-clicking it or starting it
// from the Start menu opens no console window. A command typed in cmd.exe or PowerShell
// (`dermal.exe doctor`) would then print nowhere: attach to the console of the shell that
// started it, unless the output was redirected to a file or a pipe, which already works.
func init() {
	if len(os.Args) < 2 {
		return
	}
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS
	if redirected(windows.STD_OUTPUT_HANDLE) && redirected(windows.STD_ERROR_HANDLE) {
		return
	}
	attach := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	if ok, _, _ := attach.Call(uintptr(attachParentProcess)); ok == 0 {
		return // started without a console (a shortcut with arguments): nothing to attach to
	}
	if !redirected(windows.STD_OUTPUT_HANDLE) {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			os.Stdout = f
		}
	}
	if !redirected(windows.STD_ERROR_HANDLE) {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			os.Stderr = f
		}
	}
}

// redirected reports whether a standard handle leads somewhere (a file, pipe or console).
func redirected(std uint32) bool {
	h, err := windows.GetStdHandle(std)
	if err != nil || h == 0 || h == windows.InvalidHandle {
		return false
	}
	t, err := windows.GetFileType(h)
	return err == nil && t != windows.FILE_TYPE_UNKNOWN
}
