package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// Teleconsultation in the window: the background sender of a clinic's outbox, the district
// hub's settings, and a specialist's desk (the hub's inbox, a case, the reply).

// hubSendEvery is how often the window sends the outbox and looks for replies.
const hubSendEvery = 2 * time.Minute

// prefSpecialistDesk: this computer is a specialist's desk; the window opens on the inbox.
const prefSpecialistDesk = "specialist_desk"

// startHubSender sends the outbox and brings replies home in the background: every
// hubSendEvery, and at once when kicked (a referral letter was written). Only the referrals
// whose back-off has passed are tried; what came home refreshes Today.
func (u *UI) startHubSender(ctx context.Context) {
	u.hubKick = make(chan struct{}, 1)
	go func() {
		t := time.NewTicker(hubSendEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-u.hubKick:
			}
			res, err := u.clinic.SyncHub(ctx, true, u.log)
			if errors.Is(err, clinic.ErrNoHub) || ctx.Err() != nil {
				continue
			}
			if err != nil {
				u.log.Warn("district hub", "err", err)
			}
			if res.Sent == 0 && len(res.Replies) == 0 && len(res.Failed) == 0 {
				continue
			}
			u.log.Info("district hub", "sent", res.Sent, "replies", len(res.Replies), "failed", len(res.Failed))
			fyne.Do(func() {
				u.hubNote = hubNote(res)
				if _, ok := u.screen.(*worklistScreen); ok && !u.loggedOut() {
					u.show(u.worklist())
				}
				u.updateStatus()
			})
		}
	}()
}

// kickHub asks the sender to send now.
func (u *UI) kickHub() {
	if u.hubKick == nil {
		return
	}
	select {
	case u.hubKick <- struct{}{}:
	default:
	}
}

// hubNote is the status bar's word on the last sync.
func hubNote(res clinic.SyncResult) string {
	var parts []string
	if res.Sent > 0 {
		parts = append(parts, fmt.Sprintf(lang.L("%d referrals sent to the district hub"), res.Sent))
	}
	if n := len(res.Replies); n > 0 {
		parts = append(parts, fmt.Sprintf(lang.L("%d specialist replies received"), n))
	}
	if n := len(res.Failed); n > 0 {
		parts = append(parts, fmt.Sprintf(lang.L("%d referrals not sent yet"), n))
	}
	return strings.Join(parts, " · ")
}

// hubLine is what Today says of a referral's place with the district hub.
func hubLine(it clinic.WorkItem) string {
	switch it.Hub {
	case clinic.HubSent:
		return lang.L("sent to the district hub, awaiting the reply")
	case clinic.HubQueued:
		return lang.L("queued for the district hub")
	case clinic.HubFailed:
		return lang.L("not sent to the district hub yet") + ": " + shortError(it.HubError)
	}
	return ""
}

// shortError is the first clause of an error, for a line of a list.
func shortError(s string) string {
	if i := strings.Index(s, " ("); i > 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ": "); i > 0 {
		s = s[:i]
	}
	return s
}

// hubDialog is the district hub's settings and the outbox's state (from Settings): an
// administrator sets the address and login; anyone sees what is queued and can send now.
func (u *UI) hubDialog() {
	ctx := context.Background()
	h, _ := u.clinicHub(ctx)
	url := widget.NewEntry()
	url.SetPlaceHolder("https://hub.district/dicom-web/")
	url.SetText(h.URL)
	user := widget.NewEntry()
	user.SetText(h.User)
	password := widget.NewPasswordEntry()
	password.SetPlaceHolder(lang.L("unchanged"))
	ca := widget.NewEntry()
	ca.SetPlaceHolder(lang.L("the district's certificate file (PEM), if it gave one"))
	desk := widget.NewCheck(lang.L("This computer is a specialist's desk: open on the district inbox"), nil)
	desk.SetChecked(u.prefs.p.Bool(prefSpecialistDesk))
	state := widget.NewLabel(u.hubStatusText(ctx))
	state.Wrapping = fyne.TextWrapWord
	send := widget.NewButtonWithIcon(lang.L("Send and receive now"), theme.MailSendIcon(), nil)
	send.OnTapped = func() {
		send.Disable()
		state.SetText(lang.L("Sending…"))
		background(u, nil, func() error {
			_, err := u.clinic.SyncHub(context.Background(), false, u.log)
			return err
		}, func(err error) {
			send.Enable()
			text := u.hubStatusText(context.Background())
			if err != nil {
				text = err.Error() + "\n" + text
			}
			state.SetText(text)
			if _, ok := u.screen.(*worklistScreen); ok {
				u.show(u.worklist())
			}
		})
	}
	if !u.isAdmin() {
		for _, e := range []*widget.Entry{url, user, password, ca} {
			e.Disable()
		}
	}
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Address"), url),
		widget.NewFormItem(lang.L("User name"), user),
		widget.NewFormItem(lang.L("Password"), password),
		widget.NewFormItem(lang.L("Certificate"), ca),
		widget.NewFormItem("", desk),
		widget.NewFormItem(lang.L("Outbox"), container.NewVBox(state, send)),
	)
	d := dialog.NewCustomConfirm(lang.L("District hub"), lang.L("Save"), lang.L("Close"), container.NewVScroll(form), func(ok bool) {
		if !ok {
			return
		}
		u.prefs.p.SetBool(prefSpecialistDesk, desk.Checked)
		if !u.isAdmin() || url.Text == "" {
			return
		}
		hs := clinic.HubSettings{URL: strings.TrimSpace(url.Text), User: strings.TrimSpace(user.Text), Password: password.Text}
		if hs.Password == "" {
			hs.Password = h.Password // unchanged
		}
		if p := strings.TrimSpace(ca.Text); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				u.showError(lang.L("Could not read the certificate file."), err)
				return
			}
			hs.CACert = string(b)
		} else {
			hs.CACert = h.CACert
		}
		if err := u.clinic.SetHub(context.Background(), hs); err != nil {
			u.showError(lang.L("The district hub was not set."), err)
			return
		}
		u.kickHub()
		u.build()
	}, u.win)
	d.Resize(u.dialogSize(620, 480))
	d.Show()
}

func (u *UI) clinicHub(ctx context.Context) (clinic.HubSettings, error) { return u.clinic.Hub(ctx) }

// hubStatusText is the outbox in a few lines.
func (u *UI) hubStatusText(ctx context.Context) string {
	st, err := u.clinic.HubStatus(ctx)
	if errors.Is(err, clinic.ErrNoHub) {
		return lang.L("No district hub is set. Referral letters go on paper only.")
	}
	if err != nil {
		return err.Error()
	}
	text := fmt.Sprintf(lang.L("%d queued, %d sent, %d not sent yet, %d replies received."), st.Queued, st.Sent, len(st.Failing), st.Replies)
	for _, f := range st.Failing {
		text += "\n" + fmt.Sprintf("%s: %s", f.PatientCode, f.LastError)
	}
	if st.LastReplyCheck != nil {
		text += "\n" + lang.L("Replies last looked for:") + " " + locale.Date(u.lang, st.LastReplyCheck.Local()) + " " + st.LastReplyCheck.Local().Format("15:04")
	}
	return text
}

// inboxScreen is a specialist's desk: the hub's referrals that wait for a reply, urgent first.
type inboxScreen struct {
	u     *UI
	cases []clinic.InboxCase
	list  *widget.List
	state *widget.Label
	root  fyne.CanvasObject
}

func (s *inboxScreen) view() fyne.CanvasObject { return s.root }

// inbox builds the inbox screen and loads it in the background.
func (u *UI) inbox() screen {
	s := &inboxScreen{u: u}
	title := widget.NewLabelWithStyle(lang.L("District inbox"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.state = widget.NewLabel(lang.L("Loading the district hub's referrals…"))
	s.state.Wrapping = fyne.TextWrapWord
	s.list = widget.NewList(func() int { return len(s.cases) },
		func() fyne.CanvasObject {
			b := widget.NewButtonWithIcon("", theme.NavigateNextIcon(), nil)
			b.Alignment = widget.ButtonAlignLeading
			b.Importance = widget.LowImportance
			return b
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := s.cases[i]
			b := o.(*widget.Button)
			b.SetText(fmt.Sprintf("%s · %s %s — %s (%s) — %s", lang.L("tier."+c.Tier), locale.Date(u.lang, c.Referred.Local()),
				c.Referred.Local().Format("15:04"), c.Patient, c.PatientID, c.Clinic))
			b.OnTapped = func() { u.show(u.inboxCase(c)) }
		})
	refresh := widget.NewButtonWithIcon(lang.L("Refresh"), theme.ViewRefreshIcon(), s.load)
	s.root = container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, refresh, title), s.state), nil, nil, nil, s.list)
	s.load()
	return s
}

func (s *inboxScreen) load() {
	u := s.u
	type loaded struct {
		cases []clinic.InboxCase
		err   error
	}
	background(u, nil, func() loaded {
		cs, err := u.clinic.Inbox(context.Background(), false)
		return loaded{cs, err}
	}, func(l loaded) {
		if l.err != nil {
			s.state.SetText(lang.L("The district hub's referrals could not be read.") + " " + l.err.Error())
			return
		}
		s.cases = l.cases
		s.list.Refresh()
		if len(l.cases) == 0 {
			s.state.SetText(lang.L("No referral waits for a reply."))
		} else {
			s.state.SetText(fmt.Sprintf(lang.L("%d referrals wait for a reply: urgent first, then the oldest."), len(l.cases)))
		}
	})
}

// caseScreen is one referral on the hub, and the specialist's reply.
type caseScreen struct {
	u     *UI
	c     clinic.InboxCase
	root  fyne.CanvasObject
	typed func() bool // whether a reply is typed and not sent
	// The reply's fields (tests fill them directly).
	diagnosis, advice, days *widget.Entry
	plan                    *widget.RadioGroup
	send                    *widget.Button
	photo                   *canvas.Image
	showMap                 *widget.Check // the Grad-CAM map as sent, instead of the photo
	result                  *widget.Label // the clinic's result, in the window's language
}

func (s *caseScreen) view() fyne.CanvasObject { return s.root }

// unsaved: a reply typed and not sent.
func (s *caseScreen) unsaved() bool { return s.typed != nil && s.typed() }

func (u *UI) inboxCase(c clinic.InboxCase) screen {
	s := &caseScreen{u: u, c: c}
	photo := canvas.NewImageFromImage(nil)
	photo.FillMode = canvas.ImageFillContain
	photo.SetMinSize(fyne.NewSize(240, 180))
	head := widget.NewLabelWithStyle(fmt.Sprintf("%s (%s) — %s", c.Patient, c.PatientID, c.Clinic), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.Wrapping = fyne.TextWrapWord
	lines := widget.NewLabel(lang.L("Loading the case from the district hub…"))
	s.result = lines
	lines.Wrapping = fyne.TextWrapWord
	var letter []byte
	openLetter := widget.NewButtonWithIcon(lang.L("Open the referral letter"), theme.DocumentIcon(), func() {
		p := filepath.Join(os.TempDir(), "dermal-referral-"+strings.ReplaceAll(c.PatientID, "/", "-")+".pdf")
		if err := os.WriteFile(p, letter, 0o600); err != nil {
			u.showError(lang.L("Could not open the referral letter."), err)
			return
		}
		u.openPDF(p)
	})
	openLetter.Disable()
	diagnosis := widget.NewEntry()
	diagnosis.SetPlaceHolder(lang.L("Diagnosis"))
	advice := widget.NewMultiLineEntry()
	advice.SetPlaceHolder(lang.L("Advice to the clinic"))
	advice.SetMinRowsVisible(3)
	advice.Wrapping = fyne.TextWrapWord
	days := widget.NewEntry()
	days.SetText("14")
	planLocal, planSee, planBiopsy := lang.L("Manage locally"), lang.L("See at the district hospital within (days):"), lang.L("Refer for a biopsy")
	plan := widget.NewRadioGroup([]string{planLocal, planSee, planBiopsy}, nil)
	plan.SetSelected(planLocal)
	send := widget.NewButtonWithIcon(lang.L("Send the reply"), theme.MailSendIcon(), nil)
	send.Importance = widget.HighImportance
	s.typed = func() bool { return strings.TrimSpace(diagnosis.Text) != "" || strings.TrimSpace(advice.Text) != "" }
	send.OnTapped = func() {
		req := clinic.ReplyRequest{StudyUID: c.StudyUID, Diagnosis: strings.TrimSpace(diagnosis.Text), Advice: strings.TrimSpace(advice.Text), Language: u.lang}
		switch plan.Selected {
		case planSee:
			n, err := strconv.Atoi(strings.TrimSpace(days.Text))
			if err != nil || n < 1 || n > 365 {
				u.showError(lang.L("The reply was not sent."), fmt.Errorf("%s", lang.L("Enter the days as a number from 1 to 365.")))
				return
			}
			req.SeeWithin = n
		case planBiopsy:
			req.Biopsy = true
		}
		if req.Diagnosis == "" {
			u.showError(lang.L("The reply was not sent."), fmt.Errorf("%s", lang.L("Enter the diagnosis.")))
			return
		}
		send.Disable()
		background(u, nil, func() error {
			_, err := u.clinic.Reply(context.Background(), req)
			return err
		}, func(err error) {
			send.Enable()
			if err != nil {
				u.showError(lang.L("The reply was not sent."), err)
				return
			}
			s.typed = nil
			u.log.Info("specialist reply sent", "study", c.StudyUID)
			u.lastInfo = lang.L("The reply is on the district hub. The clinic receives it at its next sync.")
			dialog.ShowInformation(lang.L("Reply sent"), u.lastInfo, u.win)
			u.show(u.inbox())
		})
	}
	s.diagnosis, s.advice, s.days, s.plan, s.send, s.photo = diagnosis, advice, days, plan, send, photo
	back := widget.NewButtonWithIcon(lang.L("District inbox"), theme.NavigateBackIcon(), func() { u.leave(func() { u.show(u.inbox()) }, nil) })
	replyForm := widget.NewForm(
		widget.NewFormItem(lang.L("Diagnosis"), diagnosis),
		widget.NewFormItem(lang.L("Advice"), advice),
		widget.NewFormItem(lang.L("Plan"), container.NewVBox(plan, days)),
	)
	right := container.NewVBox(head, lines, openLetter, widget.NewSeparator(),
		widget.NewLabelWithStyle(lang.L("Reply"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), replyForm, send)
	// The Grad-CAM map as the clinic saw it, when the clinic's model could make one: the
	// specialist switches between it and the photo.
	var original, gradcam image.Image
	showMap := widget.NewCheck(lang.L("Grad-CAM as sent (where the model looked)"), func(on bool) {
		photo.Image = original
		if on && gradcam != nil {
			photo.Image = gradcam
		}
		photo.Refresh()
	})
	showMap.Hide()
	s.showMap = showMap
	s.root = container.NewBorder(container.NewHBox(back), nil, nil, nil,
		container.NewHSplit(container.NewBorder(nil, showMap, nil, nil, photo), container.NewVScroll(right)))
	type loaded struct {
		files clinic.CaseFiles
		err   error
	}
	background(u, nil, func() loaded {
		f, err := u.clinic.InboxCase(context.Background(), c.StudyUID)
		return loaded{f, err}
	}, func(l loaded) {
		if l.err != nil {
			lines.SetText(lang.L("The case could not be read from the district hub.") + " " + l.err.Error())
			return
		}
		original, gradcam = l.files.Photo, l.files.GradCAM
		photo.Image = original
		photo.Refresh()
		if gradcam != nil {
			showMap.Show()
		}
		lines.SetText(resultText(u.lang, u.clinic.Card(), l.files.Result))
		if l.files.Letter != nil {
			letter = l.files.Letter
			openLetter.Enable()
		}
	})
	return s
}

// resultText is a referral's result in the window's language: the question first, the
// model's probabilities on one line; card names the classes a tier's driver may be.
func resultText(uiLang string, card clinic.Card, items []clinic.ResultItem) string {
	names := map[string]string{
		"DERMAL-2":  lang.L("Question to the specialist"),
		"DERMAL-13": lang.L("Referred to"),
		"DERMAL-3":  lang.L("Risk tier"),
		"DERMAL-4":  lang.L("What decided the tier"),
		"DERMAL-6":  lang.L("7-point checklist items present"),
		"DERMAL-7":  lang.L("ABCDE items present"),
		"DERMAL-8":  lang.L("Dermoscopic criteria present"),
		"81827009":  lang.L("Diameter"),
		"DERMAL-10": lang.L("Clinician's working diagnosis"),
		"DERMAL-11": lang.L("Clinician's notes"),
		"DERMAL-9":  lang.L("Model"),
	}
	var lines, probs []string
	for _, it := range items {
		switch {
		case it.Code == "DERMAL-5":
			class := strings.TrimPrefix(it.Meaning, "Model probability: ")
			probs = append(probs, fmt.Sprintf("%s %s %%", class, locale.Decimal(uiLang, it.Number, 0)))
		case it.Code == "DERMAL-3":
			lines = append(lines, names[it.Code]+": "+lang.L("tier."+it.Text))
		case it.Code == "DERMAL-4":
			lines = append(lines, names[it.Code]+": "+clinic.DriverName(uiLang, card, it.Text))
		case it.Code == "DERMAL-9":
			model, _, _ := strings.Cut(it.Text, " sha256:")
			lines = append(lines, names[it.Code]+": "+model)
		case it.IsNumber:
			lines = append(lines, fmt.Sprintf("%s: %s %s", orMeaning(names[it.Code], it.Meaning), locale.Decimal(uiLang, it.Number, 1), it.Unit))
		default:
			lines = append(lines, orMeaning(names[it.Code], it.Meaning)+": "+it.Text)
		}
	}
	if len(probs) > 0 {
		lines = append(lines, lang.L("Model probabilities")+": "+strings.Join(probs, " · "))
	}
	return strings.Join(lines, "\n")
}

func orMeaning(name, meaning string) string {
	if name != "" {
		return name
	}
	return meaning
}
