package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// isAdmin reports whether an administrator is logged in.
func (u *UI) isAdmin() bool {
	me := u.clinic.CurrentUser()
	return me != nil && me.Role == clinic.RoleAdmin
}

// staffForm is the staff accounts dialog (administrators).
type staffForm struct {
	list                     *fyne.Container
	name, fullName, password *widget.Entry
	role                     *widget.Select
	add                      *widget.Button
	dialog                   dialog.Dialog
}

func (u *UI) staffDialog() *staffForm {
	f := &staffForm{list: container.NewVBox(), name: widget.NewEntry(), fullName: widget.NewEntry(), password: widget.NewPasswordEntry()}
	f.role = widget.NewSelect([]string{clinic.RoleClinician, clinic.RoleAdmin, clinic.RoleSpecialist}, nil)
	f.role.SetSelectedIndex(0)
	f.add = widget.NewButton(lang.L("Add account"), func() {
		if err := u.clinic.AddUser(context.Background(), f.name.Text, f.fullName.Text, f.role.Selected, f.password.Text); err != nil {
			u.showError(lang.L("Could not add the account."), err)
			return
		}
		f.name.SetText("")
		f.fullName.SetText("")
		f.password.SetText("")
		u.fillStaff(f)
	})
	form := widget.NewForm(widget.NewFormItem(lang.L("User name"), f.name), widget.NewFormItem(lang.L("Full name"), f.fullName),
		widget.NewFormItem(lang.L("Role"), f.role), widget.NewFormItem(lang.L("Password"), f.password))
	u.fillStaff(f)
	f.dialog = dialog.NewCustom(lang.L("Staff accounts"), lang.L("Close"),
		container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), form, f.add), nil, nil, container.NewVScroll(f.list)), u.win)
	f.dialog.Resize(u.dialogSize(640, 520))
	f.dialog.Show()
	return f
}

func (u *UI) fillStaff(f *staffForm) {
	f.list.Objects = nil
	users, err := u.clinic.Users(context.Background())
	if err != nil {
		u.showError(lang.L("Could not read the accounts."), err)
		return
	}
	for _, usr := range users {
		usr := usr
		state := lang.L("active")
		if usr.Disabled {
			state = lang.L("disabled")
		}
		toggle := widget.NewButton(lang.L("Disable"), func() {
			if err := u.clinic.SetDisabled(context.Background(), usr.Name, !usr.Disabled); err != nil {
				u.showError(lang.L("Could not change the account."), err)
			}
			u.fillStaff(f)
		})
		if usr.Disabled {
			toggle.SetText(lang.L("Enable"))
		}
		reset := widget.NewButton(lang.L("Reset password…"), func() {
			pw := widget.NewPasswordEntry()
			dialog.ShowForm(lang.L("Reset password"), lang.L("OK"), lang.L("Cancel"), []*widget.FormItem{widget.NewFormItem(lang.L("New password"), pw)}, func(ok bool) {
				if ok {
					if err := u.clinic.SetPassword(context.Background(), usr.Name, pw.Text); err != nil {
						u.showError(lang.L("Could not change the account."), err)
					}
				}
			}, u.win)
		})
		f.list.Add(container.NewBorder(nil, nil, nil, container.NewHBox(toggle, reset),
			widget.NewLabel(fmt.Sprintf("%s — %s — %s · %s", usr.Name, usr.FullName, usr.Role, state))))
	}
	f.list.Refresh()
}

// auditForm is the audit trail viewer (administrators): by user, patient and date, with CSV
// export.
type auditForm struct {
	user, patient *widget.Entry
	since         *widget.DateEntry
	rows          []clinic.AuditEntry
	filter        clinic.AuditFilter // what rows shows (500 newest) and Export writes (all)
	table         *widget.Label
	dialog        dialog.Dialog
}

func (u *UI) auditDialog() *auditForm {
	f := &auditForm{user: widget.NewEntry(), patient: widget.NewEntry(), since: u.newDateEntry(), table: widget.NewLabel("")}
	f.patient.SetPlaceHolder(lang.L("clinic code or id"))
	f.table.TextStyle.Monospace = true
	show := widget.NewButton(lang.L("Show"), func() { u.queryAudit(f) })
	export := widget.NewButton(lang.L("Export CSV…"), func() {
		u.saveAs(lang.L("Export CSV…"), "dermal-"+lang.L("filename.audit")+"-"+time.Now().Format("2006-01-02")+".csv", func(path string) {
			u.exportAudit(f.filter, path)
		})
	})
	form := widget.NewForm(widget.NewFormItem(lang.L("User name"), f.user), widget.NewFormItem(lang.L("Patient"), f.patient),
		widget.NewFormItem(lang.L("From"), f.since))
	u.queryAudit(f)
	f.dialog = dialog.NewCustom(lang.L("Audit trail"), lang.L("Close"),
		container.NewBorder(container.NewVBox(form, container.NewHBox(show, export)), nil, nil, nil, container.NewScroll(f.table)), u.win)
	f.dialog.Resize(u.dialogSize(900, 600))
	f.dialog.Show()
	return f
}

// exportAudit writes every row the filter selects (not only the ones on screen) and says how
// many, and where.
func (u *UI) exportAudit(filter clinic.AuditFilter, path string) {
	n, err := u.clinic.ExportAudit(context.Background(), filter, path)
	if err != nil {
		u.showError(lang.L("Could not export the audit trail."), err)
		return
	}
	u.lastInfo = fmt.Sprintf(lang.L("%d rows of the audit trail are exported to:"), n) + "\n" + path
	dialog.ShowInformation(lang.L("Audit trail exported"), u.lastInfo, u.win)
}

func (u *UI) queryAudit(f *auditForm) {
	ctx := context.Background()
	filter := clinic.AuditFilter{Actor: f.user.Text, Limit: 500}
	if f.since.Date != nil {
		filter.Since = *f.since.Date
	}
	if f.patient.Text != "" {
		p, err := u.clinic.ResolvePatient(ctx, f.patient.Text)
		if err != nil {
			u.showError(lang.L("Could not read the audit trail."), err)
			return
		}
		filter.Patient = p.ID
	}
	rows, err := u.clinic.QueryAudit(ctx, filter)
	if err != nil {
		u.showError(lang.L("Could not read the audit trail."), err)
		return
	}
	f.rows, f.filter = rows, filter
	var s string
	for _, r := range rows {
		s += fmt.Sprintf("%6d  %s  %-12s %-8s %-10s %6d  %s\n", r.Row, locale.DateTime(u.lang, r.At.Local()), r.Actor, r.Action, r.Entity, r.ID, r.Detail)
	}
	if s == "" {
		s = lang.L("None.")
	}
	f.table.SetText(s)
}
