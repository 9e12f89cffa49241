package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"dermal/internal/clinic"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

// `dermal import`: a clinic moving from paper or another system enters its patients (and,
// where it has them, their old photos with their dates) from one CSV file, under one login.
// The whole file is checked first; a file with any bad row imports nothing and names every
// problem with its line. A run stopped half-way (a full disk) can be run again: patients
// already there (same code, same name) are used, and visits already there (the same photo
// on the same day) are not entered twice.

// importColumns are the columns import knows; code and full_name are required.
var importColumns = []string{"code", "full_name", "sex", "birth_year", "phone", "address", "insurance_number", "id_number", "patient_notes",
	"photo", "site", "taken_at", "photo_type", "diagnosis", "notes", "lesion"}

type importRow struct {
	line    int
	patient storage.Patient
	// A visit, when photo is given.
	photo, site, photoType, diagnosis, notes string
	takenAt                                  time.Time
	// lesion labels the lesion within the patient (any text: "1", "mole left shoulder"):
	// visits with the same label are one lesion seen again; without one, each visit is a
	// lesion of its own.
	lesion string
}

func runImport(env *Env, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dry := fs.Bool("dry-run", false, "check the file and say what would be imported, importing nothing")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: import [--dry-run] FILE.csv (columns: %s; code and full_name required; a row with a photo adds a visit)", ErrUsage, strings.Join(importColumns, ", "))
	}
	path := fs.Arg(0)
	rows, err := readImport(path)
	if err != nil {
		return err
	}
	visits := 0
	for _, r := range rows {
		if r.photo != "" {
			visits++
		}
	}
	var c *clinic.Clinic
	var closeRecords func()
	if visits > 0 && !*dry {
		c, closeRecords, err = env.openClinic() // the model analyses the old photos
	} else {
		c, closeRecords, err = env.openRecords()
	}
	if err != nil {
		return err
	}
	defer closeRecords()
	ctx := context.Background()
	// The records' side of the check: a code already there must be the same person.
	patients := map[string]storage.PatientID{}
	var problems []string
	newPatients := 0
	for _, r := range rows {
		if _, seen := patients[r.patient.Code]; seen {
			continue
		}
		p, err := c.PatientByCode(ctx, r.patient.Code)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			patients[r.patient.Code] = 0
			newPatients++
		case err != nil:
			return err
		case clinic.NFC(p.FullName) != clinic.NFC(r.patient.FullName):
			problems = append(problems, fmt.Sprintf("line %d: code %s is %s in the records, not %s", r.line, terminalSafe(r.patient.Code), terminalSafe(p.FullName), terminalSafe(r.patient.FullName)))
		default:
			patients[r.patient.Code] = p.ID
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s: nothing was imported:\n  %s", storage.ErrInvalid, path, strings.Join(problems, "\n  "))
	}
	fmt.Fprintf(env.Stdout, "%s: %d rows, %d patients (%d new, %d already in the records), %d visits with photos\n", path, len(rows), len(patients), newPatients, len(patients)-newPatients, visits)
	if *dry {
		fmt.Fprintln(env.Stdout, "dry run: nothing was imported")
		return nil
	}
	added, entered, already := 0, 0, 0
	lesions := map[string]storage.LesionID{} // code + label → the lesion made for it
	for i, r := range rows {
		id := patients[r.patient.Code]
		if id == 0 {
			// A clinic's old list holds people with the same name and birth year: the code
			// tells them apart.
			if id, err = c.AddPatient(ctx, r.patient, true); err != nil {
				return importStopped(r, i, added, entered, err)
			}
			patients[r.patient.Code] = id
			added++
		}
		if r.photo == "" {
			continue
		}
		key := r.patient.Code + "\x00" + r.lesion
		lesion := lesions[key]
		if r.lesion == "" {
			lesion = 0
		}
		done, lid, err := importVisit(ctx, c, id, lesion, r)
		if err != nil {
			return importStopped(r, i, added, entered, err)
		}
		lesions[key] = lid
		if done {
			entered++
		} else {
			already++
		}
		if entered%50 == 0 && entered > 0 {
			fmt.Fprintf(env.Stderr, "dermal import: %d of %d visits\n", entered+already, visits)
		}
	}
	fmt.Fprintf(env.Stdout, "imported: %d patients added, %d visits entered (%d were there already)\n", added, entered, already)
	return nil
}

func importStopped(r importRow, i, added, entered int, err error) error {
	return fmt.Errorf("line %d (%s): %w\nthe rows before it are imported (%d patients added, %d visits); fix this one and run the same import again: what is there already is not entered twice", r.line, terminalSafe(r.patient.Code), err, added, entered)
}

// importVisit analyses and saves a row's photo with its date, of lesion (0: a new one),
// unless the patient already has an assessment of the same photo on the same day (an import
// run again). It reports whether it entered one, and the visit's lesion.
func importVisit(ctx context.Context, c *clinic.Clinic, id storage.PatientID, lesion storage.LesionID, r importRow) (bool, storage.LesionID, error) {
	photo, err := c.ReadPhoto(r.photo)
	if err != nil {
		return false, 0, err
	}
	hs, err := c.History(ctx, id)
	if err != nil {
		return false, 0, err
	}
	name := c.PhotoName(photo.Bytes)
	for _, h := range hs {
		if h.Assessment.PhotoSHA256 == name && h.Assessment.TakenAt.Format("2006-01-02") == r.takenAt.Format("2006-01-02") {
			return false, h.Lesion.ID, nil
		}
	}
	a, err := c.Analyse(photo)
	if err != nil {
		return false, 0, err
	}
	pt := triage.PhotoType(r.photoType)
	if pt == "" {
		pt = triage.Dermoscopic
	}
	res, err := c.Save(ctx, clinic.Visit{PatientID: id, LesionID: lesion, Site: r.site, Photo: photo, Analysis: a, TakenAt: r.takenAt,
		Exam: clinic.Examination{PhotoType: pt}, Findings: storage.Findings{Diagnosis: r.diagnosis, Notes: r.notes}})
	if err != nil {
		return false, 0, err
	}
	return true, res.LesionID, nil
}

// readImport reads and checks the whole file: every problem, with its line, or the rows.
func readImport(path string) ([]importRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF")) // Excel on Windows starts UTF-8 with a BOM
	rd := csv.NewReader(bytes.NewReader(b))
	rd.FieldsPerRecord = -1
	header, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no header row (%v)", storage.ErrInvalid, path, err)
	}
	col := map[string]int{} // column name → index + 1 (0: absent)
	var problems []string
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(importColumns, h):
			problems = append(problems, fmt.Sprintf("line 1: unknown column %q (the columns are %s)", h, strings.Join(importColumns, ", ")))
		case col[h] != 0:
			problems = append(problems, fmt.Sprintf("line 1: column %q twice", h))
		default:
			col[h] = i + 1
		}
	}
	for _, need := range []string{"code", "full_name"} {
		if col[need] == 0 {
			problems = append(problems, fmt.Sprintf("line 1: no %q column", need))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s: nothing was imported:\n  %s", storage.ErrInvalid, path, strings.Join(problems, "\n  "))
	}
	dir := filepath.Dir(path)
	byCode := map[string]storage.Patient{}
	var rows []importRow
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		get := func(name string) string {
			if i := col[name]; i > 0 && i <= len(rec) {
				return strings.TrimSpace(rec[i-1])
			}
			return ""
		}
		if strings.Join(rec, "") == "" {
			continue // a blank line
		}
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
		}
		r := importRow{line: line, patient: storage.Patient{Code: clinic.NFC(get("code")), FullName: clinic.NFC(get("full_name")), Sex: strings.ToUpper(get("sex")),
			Phone: get("phone"), Address: clinic.NFC(get("address")), InsuranceNumber: get("insurance_number"), IDNumber: get("id_number"), Notes: clinic.NFC(get("patient_notes"))}}
		if r.patient.Code == "" || r.patient.FullName == "" {
			bad("code and full_name are required")
			continue
		}
		if y := get("birth_year"); y != "" {
			n, err := strconv.Atoi(y)
			if err != nil || n < 1880 || n > time.Now().Year() {
				bad("birth_year %q is not a year between 1880 and %d", y, time.Now().Year())
			}
			r.patient.BirthYear = n
		}
		if r.patient.Sex != "" && r.patient.Sex != "F" && r.patient.Sex != "M" {
			bad("sex %q is not F or M (or empty)", get("sex"))
		}
		if p, seen := byCode[r.patient.Code]; seen {
			if p.FullName != r.patient.FullName {
				bad("code %s is %s on an earlier line, %s here", r.patient.Code, p.FullName, r.patient.FullName)
			}
		} else {
			byCode[r.patient.Code] = r.patient
		}
		if r.photo = get("photo"); r.photo != "" {
			if !filepath.IsAbs(r.photo) {
				r.photo = filepath.Join(dir, r.photo)
			}
			if f, err := os.Open(r.photo); err != nil {
				bad("photo %s: %v", get("photo"), errors.Unwrap(err))
			} else {
				if _, _, err := image.DecodeConfig(f); err != nil {
					bad("photo %s is not a photo Dermal reads (JPEG or PNG)", get("photo"))
				}
				f.Close()
			}
			r.site = get("site")
			if !slices.Contains(storage.BodySites, r.site) {
				bad("site %q is not one of %s", r.site, strings.Join(storage.BodySites, ", "))
			}
			t, err := time.ParseInLocation("2006-01-02", get("taken_at"), time.Local)
			switch {
			case err != nil:
				bad("taken_at %q is not a date YYYY-MM-DD (a visit needs the day its photo was taken)", get("taken_at"))
			case t.After(time.Now()):
				bad("taken_at %s is in the future", get("taken_at"))
			}
			r.takenAt = t.Add(12 * time.Hour) // the day, at noon: no time zone moves it to another
			r.photoType = strings.ToLower(get("photo_type"))
			if r.photoType != "" && r.photoType != string(triage.Dermoscopic) && r.photoType != string(triage.Plain) {
				bad("photo_type %q is not dermoscopic or plain", get("photo_type"))
			}
			r.diagnosis, r.notes, r.lesion = clinic.NFC(get("diagnosis")), clinic.NFC(get("notes")), clinic.NFC(get("lesion"))
		} else if get("site") != "" || get("taken_at") != "" {
			bad("site and taken_at belong to a visit: give its photo too")
		}
		rows = append(rows, r)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s: nothing was imported:\n  %s", storage.ErrInvalid, path, strings.Join(problems, "\n  "))
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s has no rows under its header", storage.ErrInvalid, path)
	}
	return rows, nil
}
