package ui

import (
	"fmt"

	"fyne.io/fyne/v2"

	"dermal/internal/clinic"
)

// AnalysePhotos drives the window as a clinician's clicks would, for the window's memory
// benchmark (make bench-scale; DERMAL_BENCH_ANALYSES): a new assessment for the patient, then
// n times the photo at path opened and analysed through the assessment screen's own steps,
// each waited for. It runs off the UI thread, and reaches widgets only through fyne.Do.
func (u *UI) AnalysePhotos(pid clinic.PatientID, path string, n int) error {
	var a *assessScreen
	fyne.DoAndWait(func() {
		u.openPatient(pid)
		if ps, ok := u.screen.(*patientScreen); ok {
			ps.newAssessment(0)
		}
		a, _ = u.screen.(*assessScreen)
	})
	if a == nil {
		return fmt.Errorf("patient %d: no new assessment opened", pid)
	}
	for i := range n {
		fyne.DoAndWait(func() { a.loadFile(path) })
		u.jobs.Wait()
		fyne.DoAndWait(func() { a.analyse() })
		u.jobs.Wait()
		var done bool
		fyne.DoAndWait(func() { done = a.analysis != nil })
		if !done {
			return fmt.Errorf("analysis %d of %s did not run (the window shows why)", i+1, path)
		}
	}
	return nil
}
