package diag

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/jetflow/jetflow/client"
)

// The Schedules pages: a list of the namespace's schedules, and a page per
// schedule with its next and recent fires and pause, unpause and trigger
// buttons (POSTs, guarded like every action by CrossOriginProtection).

var schedulesTmpl = template.Must(template.New("schedules").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	},
	"spec": specLine,
}).Parse(`{{define "head"}}<!doctype html><html><head><meta charset="utf-8"><title>{{.Title}} · jetflow</title>
<link rel="stylesheet" href="{{.Base}}/static/app.css"></head><body><main>
<p><a href="{{.Base}}/">Instances</a> · <a href="{{.Base}}/schedules">Schedules</a></p>{{end}}
{{define "list"}}{{template "head" .}}<h1>Schedules</h1>
{{if not .List}}<p>No schedules in this namespace.</p>{{else}}
<table><thead><tr><th>ID</th><th>Spec</th><th>Workflow</th><th>State</th><th>Next fire</th><th>Fires</th></tr></thead><tbody>
{{range .List}}<tr><td><a href="{{$.Base}}/schedules/{{.ScheduleID}}">{{.ScheduleID}}</a></td><td>{{spec .Spec}}</td><td>{{.Workflow}}</td>
<td>{{if .Paused}}paused{{if .Note}}: {{.Note}}{{end}}{{else if .NextFires}}active{{else}}ended{{end}}</td>
<td>{{if .NextFires}}{{when (index .NextFires 0)}}{{else}}-{{end}}</td><td>{{.Fires}}</td></tr>{{end}}
</tbody></table>{{end}}</main></body></html>{{end}}
{{define "one"}}{{template "head" .}}{{with .One}}<h1>Schedule {{.ScheduleID}}</h1>
<dl><dt>Spec</dt><dd>{{spec .Spec}}</dd><dt>Workflow</dt><dd>{{.Workflow}} (queue {{.Queue}})</dd>
<dt>Overlap</dt><dd>{{.Overlap}}, catch-up window {{.CatchupWindow}}</dd>
<dt>State</dt><dd>{{if .Paused}}paused{{if .Note}}: {{.Note}}{{end}}{{else}}active{{end}}</dd>
<dt>Fires</dt><dd>{{.Fires}} started, {{.Skipped}} skipped, {{.Missed}} missed</dd></dl>
<form method="post" action="{{$.Base}}/schedules/{{.ScheduleID}}/{{if .Paused}}unpause{{else}}pause{{end}}">
<input name="note" placeholder="note"> <button type="submit">{{if .Paused}}Unpause{{else}}Pause{{end}}</button></form>
<form method="post" action="{{$.Base}}/schedules/{{.ScheduleID}}/trigger"><button type="submit">Trigger now</button></form>
<h2>Next fires</h2><ul>{{range .NextFires}}<li>{{when .}}</li>{{else}}<li>none</li>{{end}}</ul>
<h2>Recent fires</h2><table><thead><tr><th>Fire time</th><th>Kind</th><th>Outcome</th><th>Instance</th><th>Status</th><th>Reason</th></tr></thead><tbody>
{{range .RecentFires}}<tr><td>{{when .FireTime}}</td><td>{{.Kind}}</td><td>{{.Outcome}}</td>
<td>{{if .InstanceID}}<a href="{{$.Base}}/instances/{{.InstanceID}}">{{.InstanceID}}</a>{{end}}</td><td>{{.Status}}</td><td>{{.Reason}}</td></tr>{{end}}
</tbody></table>{{end}}</main></body></html>{{end}}`))

type schedulesView struct {
	Title, Base string
	List        []*client.ScheduleDescription
	One         *client.ScheduleDescription
}

func specLine(s client.ScheduleSpec) string {
	if s.Cron != "" {
		if s.TimeZone != "" {
			return "cron " + s.Cron + " (" + s.TimeZone + ")"
		}
		return "cron " + s.Cron
	}
	line := "every " + s.Every.String()
	if s.Offset != 0 {
		line += " +" + s.Offset.String()
	}
	return line
}

func (s *server) routeSchedules(mux *http.ServeMux) {
	mux.HandleFunc("GET /schedules", s.schedulesPage)
	mux.HandleFunc("GET /schedules/{id}", s.schedulePage)
	mux.HandleFunc("POST /schedules/{id}/{action}", s.scheduleAction)
}

func (s *server) schedulesPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.c.ListSchedules(r.Context())
	if err != nil {
		s.errorPage(w, r, http.StatusBadGateway, "Cannot list schedules", err.Error())
		return
	}
	s.renderSchedules(w, "list", schedulesView{Title: "Schedules", Base: base(r), List: list})
}

func (s *server) schedulePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.c.DescribeSchedule(r.Context(), id)
	if errors.Is(err, client.ErrScheduleNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "Schedule not found", "There is no schedule "+id+".")
		return
	}
	if err != nil {
		s.errorPage(w, r, http.StatusBadGateway, "Cannot describe schedule", err.Error())
		return
	}
	s.renderSchedules(w, "one", schedulesView{Title: "Schedule " + id, Base: base(r), One: d})
}

func (s *server) scheduleAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	switch action {
	case "pause":
		err = s.c.PauseSchedule(r.Context(), id, r.FormValue("note"))
	case "unpause":
		err = s.c.UnpauseSchedule(r.Context(), id, r.FormValue("note"))
	case "trigger":
		err = s.c.TriggerSchedule(r.Context(), id)
	default:
		s.notFound(w, r)
		return
	}
	if errors.Is(err, client.ErrScheduleNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "Schedule not found", "There is no schedule "+id+".")
		return
	}
	if err != nil {
		s.errorPage(w, r, http.StatusBadGateway, "Cannot "+action+" schedule", err.Error())
		return
	}
	http.Redirect(w, r, base(r)+"/schedules/"+id, http.StatusSeeOther)
}

func (s *server) renderSchedules(w http.ResponseWriter, name string, v schedulesView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := schedulesTmpl.ExecuteTemplate(w, name, v); err != nil {
		s.log.Warn("rendering a schedules page failed", "err", err)
	}
}
