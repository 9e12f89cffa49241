package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"dermal/internal/clinic"
	"dermal/internal/config"
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

func (env *Env) openStore() (*storage.Store, error) {
	dir, err := config.DataDir(env.DataDir, "")
	if err != nil {
		return nil, err
	}
	// A script entering records runs many commands: the full integrity check (seconds at
	// 100,000 patients) runs once an hour, not before every command may write.
	return clinic.OpenStoreWith(dir, "cli", storage.Options{CheckedWithin: time.Hour})
}

// openClinic opens the model and the records together; close releases both.
func (env *Env) openClinic() (c *clinic.Clinic, close func(), err error) {
	eng, err := env.Engine()
	if err != nil {
		return nil, nil, err
	}
	s, err := env.openStore()
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	c = newClinic(eng, s, env.guard(eng))
	if err := env.login(c); err != nil {
		c.Close()
		eng.Close()
		return nil, nil, err
	}
	return c, func() { c.Close(); eng.Close() }, nil
}

// login logs the command in as --user (the password from --password-file, else the
// terminal) once the clinic has staff accounts; records from before setup need none.
func (env *Env) login(c *clinic.Clinic) error {
	ctx := context.Background()
	need, err := c.NeedsSetup(ctx)
	if err != nil {
		return err
	}
	if need {
		if broken, err := c.SetupInterrupted(ctx); err != nil {
			return err
		} else if broken {
			return fmt.Errorf("%w: the setup of these records was interrupted before the administrator could log in; run dermal setup again (it replaces the unfinished accounts)", clinic.ErrNotSetUp)
		}
		if env.User != "" {
			return fmt.Errorf("%w: --user %s, but there are no staff accounts yet; run dermal setup first", clinic.ErrNotSetUp, env.User)
		}
		return nil
	}
	if env.User == "" {
		return fmt.Errorf("%w: these records have staff accounts: give --user NAME (and --password-file F, or type the password)", ErrUsage)
	}
	pw, err := secret(env, env.PasswordFile, "password for "+env.User)
	if err != nil {
		return err
	}
	if _, err = c.Login(ctx, env.User, pw); err != nil {
		return err
	}
	// Photos left plain by an interrupted upgrade are sealed now (none left: one query).
	_, err = c.SealStoredPhotos(ctx, nil)
	return err
}

// openUnlocked opens the records alone (no model) without logging in: for setup and the
// recovery key, which come before any login.
func (env *Env) openUnlocked() (*clinic.Clinic, error) {
	s, err := env.openStore()
	if err != nil {
		return nil, err
	}
	return newClinic(nil, s, nil), nil
}

// openRecords opens the records alone (no model) behind the application layer, logged in.
func (env *Env) openRecords() (*clinic.Clinic, func(), error) {
	c, err := env.openUnlocked()
	if err != nil {
		return nil, nil, err
	}
	if err := env.login(c); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

// terminalSafe shows control and invisible characters as \u escapes: a name stored before
// they were refused must not move the cursor or clear the screen of whoever lists it.
func terminalSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// runPatients: patients add|list|search.
func runPatients(env *Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: patients add|list|search", ErrUsage)
	}
	ctx := context.Background()
	switch args[0] {
	case "add":
		fs := flag.NewFlagSet("patients add", flag.ContinueOnError)
		fs.SetOutput(env.Stderr)
		var p storage.Patient
		fs.StringVar(&p.FullName, "name", "", "full name")
		fs.StringVar(&p.Code, "code", "", "clinic code (unique)")
		fs.StringVar(&p.Sex, "sex", "", "F or M")
		fs.IntVar(&p.BirthYear, "birth-year", 0, "year of birth")
		fs.StringVar(&p.Phone, "phone", "", "phone number")
		fs.StringVar(&p.Address, "address", "", "village / address")
		fs.StringVar(&p.InsuranceNumber, "insurance", "", "health-insurance (BHYT) card number")
		fs.StringVar(&p.IDNumber, "id-number", "", "citizen ID card (CCCD) number")
		fs.StringVar(&p.Notes, "notes", "", "notes")
		consentPhotos := fs.String("consent-photos", "", "yes or no: the patient agrees to photos being stored")
		consentReferral := fs.String("consent-referral", "", "yes or no: the patient agrees to photos being shared for a referral")
		allowSimilar := fs.Bool("allow-similar", false, "register even if a patient with the same name and birth year, or the same phone, exists")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		var err error
		if p.ConsentPhotos, err = yesNo("--consent-photos", *consentPhotos); err != nil {
			return err
		}
		if p.ConsentReferral, err = yesNo("--consent-referral", *consentReferral); err != nil {
			return err
		}
		c, closeRecords, err := env.openRecords()
		if err != nil {
			return err
		}
		defer closeRecords()
		id, err := c.AddPatient(ctx, p, *allowSimilar)
		var similar *clinic.SimilarPatientsError
		if errors.As(err, &similar) {
			return fmt.Errorf("%s; nothing was added — use that record, or add --allow-similar if this is another person", terminalSafe(similar.Error()))
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, id)
		return nil
	case "list", "search":
		q := ""
		if args[0] == "search" {
			if len(args) != 2 {
				return fmt.Errorf("%w: patients search QUERY", ErrUsage)
			}
			q = args[1]
		}
		c, closeRecords, err := env.openRecords()
		if err != nil {
			return err
		}
		defer closeRecords()
		ps, err := c.SearchPatients(ctx, q, 1000)
		if err != nil {
			return err
		}
		for _, p := range ps {
			by := ""
			if p.BirthYear != 0 {
				by = strconv.Itoa(p.BirthYear)
			}
			fmt.Fprintf(env.Stdout, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID, terminalSafe(p.Code), terminalSafe(p.FullName), p.Sex, by, terminalSafe(p.Phone))
		}
		return nil
	case "delete", "undelete":
		fs := flag.NewFlagSet("patients "+args[0], flag.ContinueOnError)
		fs.SetOutput(env.Stderr)
		hard := fs.Bool("hard", false, "delete permanently, photos included (delete only)")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: patients %s [--hard] ID", ErrUsage, args[0])
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: patient id %q is not a number", ErrUsage, fs.Arg(0))
		}
		c, closeRecords, err := env.openRecords()
		if err != nil {
			return err
		}
		defer closeRecords()
		if args[0] == "undelete" {
			return c.UndeletePatient(ctx, storage.PatientID(id))
		}
		return c.DeletePatient(ctx, storage.PatientID(id), *hard)
	}
	return fmt.Errorf("%w: unknown patients command %q", ErrUsage, args[0])
}

// AssessOutput is `dermal assess --json`: the classify result plus where it was stored.
type AssessOutput struct {
	AssessmentID storage.AssessmentID `json:"assessment_id"`
	LesionID     storage.LesionID     `json:"lesion_id"`
	PatientID    storage.PatientID    `json:"patient_id"`
	PatientCode  string               `json:"patient_code"`
	ClassifyResult
	// SevenPoint is null when the checklist was not done; DiameterMM null when not measured.
	SevenPoint *clinic.SevenPoint `json:"seven_point"`
	ABCDE      []clinic.Sign      `json:"abcde"`
	DiameterMM *float64           `json:"diameter_mm"`
}

func runAssess(env *Env, args []string) error {
	fs := flag.NewFlagSet("assess", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	patient := fs.String("patient", "", "patient: clinic code or id (code:X or id:N when a number could be both)")
	site := fs.String("site", "other", "body site of a new lesion")
	lesion := fs.Int64("lesion", 0, "add to this existing lesion instead of a new one")
	photoType := fs.String("photo-type", "dermoscopic", photoTypeUsage)
	dermoscopy := fs.String("dermoscopy", "", dermoscopyUsage)
	diameter := fs.Float64("diameter-mm", 0, "the lesion's longest diameter in mm")
	sevenPoint := fs.String("seven-point", "", "the weighted 7-point checklist items present, comma-separated: size,shape,colour (2 points each), diameter,inflammation,oozing,sensation (1 each); none for a checklist with nothing present")
	mapAt := fs.String("map", "", "place a new lesion on the body map: front:X,Y or back:X,Y (X, Y from 0 to 1 across and down the outline); the site and side follow unless --site is given")
	followUp := fs.String("follow-up", "", "follow-up date, YYYY-MM-DD (it appears in dermal followups)")
	abcde := fs.String("abcde", "", "ABCDE signs present, comma-separated: asymmetry,border,colour,diameter,evolving (or a,b,c,d,e); none for none")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *patient == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: assess --patient ID_OR_CODE [--site SITE | --lesion ID] [--photo-type dermoscopic|plain] [--dermoscopy CRITERION,…|none] [--diameter-mm N] [--seven-point ITEM,ITEM…] IMAGE", ErrUsage)
	}
	exam, err := examination(fs, *photoType, *diameter, *sevenPoint, *dermoscopy, *abcde)
	if err != nil {
		return err
	}
	var point *clinic.BodyPoint
	if *mapAt != "" {
		if point, err = parseMapPoint(*mapAt); err != nil {
			return err
		}
		siteGiven := false
		fs.Visit(func(f *flag.Flag) { siteGiven = siteGiven || f.Name == "site" })
		if !siteGiven {
			place, _ := point.Place()
			*site = place.Site
		}
	}
	var findings storage.Findings
	if *followUp != "" {
		d, err := time.ParseInLocation("2006-01-02", *followUp, time.Local)
		if err != nil {
			return fmt.Errorf("%w: --follow-up %q is not a date YYYY-MM-DD", ErrUsage, *followUp)
		}
		findings.FollowUp = &d
	}
	c, closeClinic, err := env.openClinic()
	if err != nil {
		return err
	}
	defer closeClinic()
	ctx := context.Background()
	// "id or code" is resolved here, once; everything after goes by the record id.
	p, err := c.ResolvePatient(ctx, *patient)
	if err != nil {
		return err
	}
	photo, err := c.ReadPhoto(fs.Arg(0))
	if err != nil {
		return err
	}
	var r *clinic.Result
	if point != nil {
		if *lesion != 0 {
			return fmt.Errorf("%w: --map places a new lesion; it does not go with --lesion", ErrUsage)
		}
		r, err = c.AssessAt(ctx, p.ID, *site, *point, photo, exam, findings)
	} else {
		r, err = c.Assess(ctx, p.ID, storage.LesionID(*lesion), *site, photo, exam, findings)
	}
	if err != nil {
		return err
	}
	card := c.Card()
	out := AssessOutput{AssessmentID: r.AssessmentID, LesionID: r.LesionID, PatientID: r.Patient.ID, PatientCode: r.Patient.Code,
		ClassifyResult: ClassifyResult{File: fs.Arg(0), Model: modelRef(card), Warnings: []inference.Warning{}},
		SevenPoint:     exam.SevenPoint, ABCDE: exam.ABCDE, DiameterMM: exam.DiameterMM}
	fillResult(&out.ClassifyResult, r.Analysis, r.Decision)
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(out)
	}
	fmt.Fprintf(env.Stdout, "saved assessment %d (lesion %d) for %s %s\n", out.AssessmentID, out.LesionID, terminalSafe(r.Patient.Code), terminalSafe(r.Patient.FullName))
	printResult(env, card, &out.ClassifyResult)
	return nil
}

// yesNo reads a consent flag: "" not asked, yes or no.
func yesNo(flagName, v string) (*bool, error) {
	switch strings.ToLower(v) {
	case "":
		return nil, nil
	case "yes", "y", "có":
		b := true
		return &b, nil
	case "no", "n", "không":
		b := false
		return &b, nil
	}
	return nil, fmt.Errorf("%w: %s %q is not yes or no", ErrUsage, flagName, v)
}

// parseMapPoint reads front:X,Y or back:X,Y; a point off the outline is a usage error.
func parseMapPoint(s string) (*clinic.BodyPoint, error) {
	view, xy, ok := strings.Cut(s, ":")
	xs, ys, ok2 := strings.Cut(xy, ",")
	x, errX := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, errY := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || !ok2 || errX != nil || errY != nil {
		return nil, fmt.Errorf("%w: --map %q is not front:X,Y or back:X,Y", ErrUsage, s)
	}
	p := &clinic.BodyPoint{View: clinic.MapView(view), X: x, Y: y}
	if _, err := p.Place(); err != nil {
		return nil, fmt.Errorf("%w: --map %q: %v", ErrUsage, s, err)
	}
	return p, nil
}

// The examination flags' help, shared by classify and assess.
const (
	photoTypeUsage  = "dermoscopic (through a dermatoscope) or plain (no dermatoscope: the tier comes from --seven-point); applies to every photo named"
	dermoscopyUsage = "the dermoscopic 7-point checklist (Argenziano) criteria present, comma-separated: atypical-network, blue-white-veil, atypical-vessels (2 points each), irregular-streaks, irregular-blotches, irregular-dots, regression (1 each); none for a checklist with nothing present; dermoscopic photos only"
)

// examination reads the examination flags (classify and assess); a flag given wrongly is a
// usage error that names it, before any photo is read.
func examination(fs *flag.FlagSet, photoType string, diameter float64, sevenPoint, dermoscopy, abcde string) (clinic.Examination, error) {
	var e clinic.Examination
	var err error
	if e.PhotoType, err = triage.ParsePhotoType(photoType); err != nil {
		return e, fmt.Errorf("%w: --photo-type: %v", ErrUsage, err)
	}
	if e.Dermoscopy, err = triage.ParseDermoscopy(dermoscopy); err != nil {
		return e, fmt.Errorf("%w: --dermoscopy: %v", ErrUsage, err)
	}
	if err := e.Check(); err != nil {
		return e, fmt.Errorf("%w: --dermoscopy with --photo-type plain: %v", ErrUsage, err)
	}
	if e.SevenPoint, err = triage.ParseSevenPoint(sevenPoint); err != nil {
		return e, fmt.Errorf("%w: --seven-point: %v", ErrUsage, err)
	}
	if e.ABCDE, err = triage.ParseABCDE(abcde); err != nil {
		return e, fmt.Errorf("%w: --abcde: %v", ErrUsage, err)
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "diameter-mm" })
	if given {
		if !(diameter > 0 && diameter <= 500) {
			return e, fmt.Errorf("%w: --diameter-mm %g is not a diameter between 0 and 500 mm", ErrUsage, diameter)
		}
		e.DiameterMM = &diameter
	}
	return e, nil
}

// HistoryItem is one line of `dermal history --json`.
type HistoryItem struct {
	AssessmentID  storage.AssessmentID `json:"assessment_id"`
	LesionID      storage.LesionID     `json:"lesion_id"`
	BodySite      string               `json:"body_site"`
	TakenAt       string               `json:"taken_at"`
	RiskTier      string               `json:"risk_tier"`
	Probabilities map[string]float64   `json:"probabilities"`
	Warnings      []string             `json:"warnings"`
	Model         string               `json:"model"`
	ModelSHA256   string               `json:"model_sha256"`
	ModelCard     string               `json:"model_card_sha256"`
	PhotoSHA256   string               `json:"photo_sha256"`
	Diagnosis     string               `json:"diagnosis"`
	Notes         string               `json:"notes"`
	Headline      string               `json:"headline"`
	TierDriver    string               `json:"tier_driver"`
	PhotoType     string               `json:"photo_type"`
	SevenPoint    []string             `json:"seven_point"`
	// Dermoscopy is the dermoscopic 7-point checklist, as classify and assess print it (null:
	// not done).
	Dermoscopy *triage.Dermoscopy `json:"dermoscopy"`
	ABCDE      []string           `json:"abcde"`
	DiameterMM *float64           `json:"diameter_mm"`
	FollowUp   string             `json:"follow_up,omitempty"`
	// Referred: a referral letter was made; the outcome, once recorded (source specialist,
	// by hand or from the district hub's reply, or histology).
	Referred         bool   `json:"referred"`
	OutcomeSource    string `json:"outcome_source,omitempty"`
	OutcomeDiagnosis string `json:"outcome_diagnosis,omitempty"`
}

func runHistory(env *Env, args []string) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: history CODE_OR_ID", ErrUsage)
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	ctx := context.Background()
	p, err := c.ResolvePatient(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	hs, err := c.History(ctx, p.ID)
	if err != nil {
		return err
	}
	// The class names for the headlines come from the card (no model session is started).
	m, err := env.Model()
	if err != nil {
		return err
	}
	card := m.Card
	items := []HistoryItem{}
	for _, h := range hs {
		a := h.Assessment
		it := HistoryItem{AssessmentID: a.ID, LesionID: h.Lesion.ID, BodySite: h.Lesion.BodySite, TakenAt: a.TakenAt.Format("2006-01-02T15:04:05Z07:00"),
			RiskTier: a.RiskTier, Probabilities: a.Probabilities, Warnings: a.Warnings, Model: a.ModelName, ModelSHA256: a.ModelSHA256,
			ModelCard: a.ModelCardSHA256, PhotoSHA256: a.PhotoSHA256, Diagnosis: a.Diagnosis, Notes: a.Notes,
			Headline: clinic.StoredHeadline("en", card, a), TierDriver: a.TierDriver, PhotoType: a.PhotoType,
			SevenPoint: a.SevenPoint, Dermoscopy: triage.StoredDermoscopy(a.Dermoscopy), ABCDE: a.ABCDE, DiameterMM: a.DiameterMM,
			Referred: a.Referred, OutcomeSource: a.OutcomeSource, OutcomeDiagnosis: a.OutcomeDiagnosis}
		if a.FollowUp != nil {
			it.FollowUp = a.FollowUp.Format("2006-01-02")
		}
		items = append(items, it)
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(map[string]any{"patient_id": p.ID, "patient_code": p.Code, "name": p.FullName, "assessments": items})
	}
	fmt.Fprintf(env.Stdout, "%s %s: %d assessment%s\n", terminalSafe(p.Code), terminalSafe(p.FullName), len(items), map[bool]string{true: "", false: "s"}[len(items) == 1])
	for _, it := range items {
		fmt.Fprintf(env.Stdout, "  #%d lesion %d (%s) %s  %s\n", it.AssessmentID, it.LesionID, it.BodySite, it.TakenAt, it.RiskTier)
		if it.OutcomeSource != "" {
			fmt.Fprintf(env.Stdout, "      outcome (%s): %s\n", it.OutcomeSource, terminalSafe(it.OutcomeDiagnosis))
		}
	}
	return nil
}

func runBackup(env *Env, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	passFile := fs.String("passphrase-file", "", "read the backup passphrase from this file (only its owner may read it); default: ask on the terminal")
	var recipients multiFlag
	fs.Var(&recipients, "recipient", "seal the backup for this age recipient (age1…) instead of a passphrase; repeatable")
	unencrypted := fs.Bool("unencrypted", false, "write a plain, unencrypted copy (anyone holding the file reads every record)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 1 || *unencrypted && (*passFile != "" || len(recipients) > 0) {
		return fmt.Errorf("%w: backup [--passphrase-file F | --recipient AGE1… | --unencrypted] FILE", ErrUsage)
	}
	var key *clinic.BackupKey
	switch {
	case *unencrypted:
	case len(recipients) > 0:
		key = &clinic.BackupKey{Recipients: recipients}
	default:
		pass, err := passphrase(env, *passFile, true)
		if err != nil {
			return err
		}
		key = &clinic.BackupKey{Passphrase: pass}
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	// A complete copy whose audit row could not be written is a success with a warning.
	res, err := c.BackupTo(context.Background(), fs.Arg(0), key, *unencrypted)
	if err != nil {
		return err
	}
	note := res.Note
	how := "encrypted with age"
	switch {
	case key == nil:
		how = "UNENCRYPTED"
	case res.Folder && res.Full:
		how = fmt.Sprintf("encrypted with age; the folder's first backup, run %s: everything, %s", res.Run, humanBytes(res.Bytes))
	case res.Folder:
		how = fmt.Sprintf("encrypted with age; run %s of %d: what changed since the last, %s", res.Run, res.Runs, humanBytes(res.Bytes))
	}
	fmt.Fprintf(env.Stdout, "backed up to %s (%s)\n", fs.Arg(0), how)
	// The trail's head, to keep with the backup: a trail later cut short no longer reaches it.
	if h, err := c.AuditHead(context.Background()); err == nil && h != nil {
		fmt.Fprintf(env.Stdout, "audit trail head: %s (keep this line with the backup)\n", h)
	}
	if note != "" {
		fmt.Fprintln(env.Stderr, "dermal backup: warning:", note)
	}
	return nil
}

func runRestore(env *Env, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	passFile := fs.String("passphrase-file", "", "read the backup passphrase from this file (only its owner may read it); default: ask on the terminal")
	identity := fs.String("identity", "", "open a backup sealed for an age recipient with this identity file (AGE-SECRET-KEY-1…)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: restore [--passphrase-file F | --identity FILE] FILE", ErrUsage)
	}
	src := fs.Arg(0)
	var key clinic.BackupKey
	sealed, err := clinic.BackupSealed(src)
	if err != nil {
		return err
	}
	if sealed {
		if *identity != "" {
			data, err := readSecretFile(*identity)
			if err != nil {
				return err
			}
			key.Identities = []string{data}
		} else if key.Passphrase, err = passphrase(env, *passFile, false); err != nil {
			return err
		}
	}
	dir, err := config.DataDir(env.DataDir, "")
	if err != nil {
		return err
	}
	dbPath := filepath.Join(dir, clinic.DatabaseFile)
	if _, err := os.Stat(dbPath); err == nil {
		// Replacing records with accounts is an administrator's.
		c, closeRecords, err := env.openRecords()
		if err != nil {
			return err
		}
		err = c.MayRestore()
		closeRecords()
		if err != nil {
			return err
		}
	}
	kept, err := clinic.RestoreFile(src, dbPath, key)
	if err != nil {
		return err
	}
	// The restored records' own trail says they were restored, by whom, from what.
	if s, err := env.openStore(); err == nil {
		if env.User != "" {
			s.SetActor(env.User)
		}
		err = s.RecordRestore(context.Background(), src, kept)
		s.Close()
		if err != nil {
			return fmt.Errorf("restored, but the restore could not be noted in the records' audit trail: %w", err)
		}
	}
	fmt.Fprintln(env.Stdout, "restored from", src)
	if kept != "" {
		fmt.Fprintln(env.Stdout, "the previous database is kept at", kept)
	}
	return nil
}

// humanBytes is a size as people read it.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
