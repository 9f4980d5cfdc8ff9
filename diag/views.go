package diag

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// views holds the parsed templates of every page, and the version of the
// static assets (a hash of their contents, for cache busting).
type views struct {
	pages        map[string]*template.Template
	assetVersion string
}

// pageNames are the templates/*.html files that are pages; layout.html and
// parts.html are shared by all of them.
var pageNames = []string{"list", "instance", "confirm", "error", "batchconfirm", "batch"}

func mustViews() *views {
	v, err := loadViews()
	if err != nil {
		panic(err) // the templates are embedded: this is a bug in this package
	}
	return v
}

func loadViews() (*views, error) {
	v := &views{pages: map[string]*template.Template{}}
	shared, err := template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("diag: parse templates: %w", err)
	}
	for _, name := range pageNames {
		t, err := shared.Clone()
		if err != nil {
			return nil, fmt.Errorf("diag: clone templates: %w", err)
		}
		if _, err := t.ParseFS(templateFiles, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("diag: parse template %s: %w", name, err)
		}
		v.pages[name] = t
	}
	h := sha256.New()
	err = fs.WalkDir(staticFiles, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFiles.ReadFile(path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(data)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diag: read assets: %w", err)
	}
	v.assetVersion = hex.EncodeToString(h.Sum(nil))[:12]
	return v, nil
}

// frame is what the layout shows around a page.
type frame struct {
	Title     string
	Base      string
	Namespace string
	Asset     string
	Flash     *flash
	// Live, when set, makes the script follow the page.
	Live *live
	// Page is the page's own data.
	Page any
}

// live names the event stream a page follows and the fragment it swaps in.
type live struct {
	Events   string
	Fragment string
}

// flash is a message shown once, after an action.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

const flashCookie = "jetflow_flash"

// setFlash stores a message for the next page the browser shows.
func setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	http.SetCookie(w, &http.Cookie{
		Name:     flashCookie,
		Value:    url.QueryEscape(kind + ":" + truncate(msg, 800)),
		Path:     base(r) + "/",
		MaxAge:   60,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// takeFlash reads the stored message, if any, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: base(r) + "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(v, ":")
	if !ok || (kind != "ok" && kind != "error") || msg == "" {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// render writes a whole page. A flash given here wins over a stored one.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any, lv *live, fl *flash) {
	if stored := takeFlash(w, r); fl == nil {
		fl = stored
	}
	f := &frame{
		Title:     title,
		Base:      base(r),
		Namespace: s.b.Namespace(),
		Asset:     s.views.assetVersion,
		Flash:     fl,
		Live:      lv,
		Page:      data,
	}
	s.execute(w, status, page, "layout", f)
}

// renderFragment writes the named template of a page alone, for the script
// to swap into the page.
func (s *server) renderFragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	f := &frame{Base: base(r), Namespace: s.b.Namespace(), Asset: s.views.assetVersion, Page: data}
	s.execute(w, http.StatusOK, page, name, f)
}

func (s *server) execute(w http.ResponseWriter, status int, page, name string, f *frame) {
	var buf bytes.Buffer
	if err := s.views.pages[page].ExecuteTemplate(&buf, name, f); err != nil {
		s.log.Error("render page", "page", page, "template", name, logkey.Err, err)
		http.Error(w, "diag: could not render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorView is the data of the error page.
type errorView struct {
	Status  int
	Heading string
	Message string
}

// errorPage writes an error page with the status, a heading and a message.
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	s.render(w, r, status, "error", heading, &errorView{Status: status, Heading: heading, Message: msg}, nil, nil)
}

// staticHandler serves the embedded assets.
func (s *server) staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if name == "" || strings.HasSuffix(name, "/") {
			s.notFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == s.views.assetVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = "/"+name, ""
		r2.URL = &u
		files.ServeHTTP(w, r2)
	})
}

// funcs are the template functions.
var funcs = template.FuncMap{
	"rel":    func(t time.Time) string { return relTime(t, time.Now()) },
	"abs":    absTime,
	"clock":  func(t time.Time) string { return clock(t, time.Now()) },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"dur":    fmtDuration,
	"rough":  roughDuration,
	"bytes":  fmtBytes,
	"plural": pluralWord,
	"failureOf": func(f *history.Failure, key string) failureArgs {
		return failureArgs{F: f, Key: key}
	},
	"formArgs": func(a *actionsView, id, back string, dialog bool) formArgs {
		return formArgs{A: a, ID: id, Back: back, Dialog: dialog}
	},
}

// failureArgs is the data of the "failure" template: the failure, and the
// element ID of its stack trace (so an open one stays open on updates).
type failureArgs struct {
	F   *history.Failure
	Key string
}

// formArgs is the data of the action forms: in a dialog, or on the
// confirmation page (Back is the instance page).
type formArgs struct {
	A      *actionsView
	ID     string
	Back   string
	Dialog bool
}

// absTime shows a time in UTC, to the millisecond.
func absTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// relTime shows a time relative to now: "12s ago", "in 3m 5s", "just now".
func relTime(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d > -time.Second && d < time.Second:
		return "just now"
	case d > 0:
		return roughDuration(d) + " ago"
	default:
		return "in " + roughDuration(-d)
	}
}

// roughDuration shows a duration to the second, or less precisely when it
// is long.
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return twoUnits(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return twoUnits(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	default:
		return twoUnits(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
	}
}

// twoUnits shows "3m 5s", or "3m" when the second part is zero.
func twoUnits(a int, ua string, b int, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, ua)
	}
	return fmt.Sprintf("%d%s %d%s", a, ua, b, ub)
}

// clock shows a time briefly, in UTC: the time of day when it is today,
// else the date too.
func clock(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan 2 15:04")
	}
	return t.Format("2006-01-02")
}

// fmtDuration shows a duration readably: "850µs", "12ms", "1.203s",
// "2m 5s", "3h 2m", "2d 3h".
func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDuration(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return trimZeros(strconv.FormatFloat(d.Seconds(), 'f', 3, 64)) + "s"
	}
	return roughDuration(d)
}

// trimZeros drops the trailing zeros of a decimal number: "1.200" → "1.2",
// "10.000" → "10".
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// fmtOffset shows the time of an event since the start of its run:
// "+0.000s", "+1.203s", "+2m05.120s", "+3h02m10s".
func fmtOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d < time.Minute:
		return sign + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%s%dm%06.3fs", sign, int(d/time.Minute), (d % time.Minute).Seconds())
	default:
		return fmt.Sprintf("%s%dh%02dm%02ds", sign, int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second))
	}
}

// fmtBytes shows a size: "512 B", "3.4 KiB", "1.2 MiB".
func fmtBytes(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
	}
}

// prettyJSON shows a decoded payload as indented JSON.
func prettyJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the template escapes
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("(cannot show as JSON: %v)", err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// displayJSON shows a decoded payload on one line when it is short, and
// indented otherwise.
func displayJSON(v any) string {
	var b strings.Builder
	if inlineJSON(&b, v, 0) && b.Len() <= maxInline {
		return b.String()
	}
	return prettyJSON(v)
}

// maxInline is the longest JSON shown on one line.
const maxInline = 88

// inlineJSON writes v as JSON on one line, with a space after each comma
// and colon. It gives up (false) once the line is too long.
func inlineJSON(b *strings.Builder, v any, depth int) bool {
	if b.Len() > maxInline || depth > 32 {
		return false
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(": ")
			if !inlineJSON(b, v[k], depth+1) {
				return false
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			if !inlineJSON(b, e, depth+1) {
				return false
			}
		}
		b.WriteByte(']')
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return false
		}
		b.WriteString(strings.TrimSuffix(buf.String(), "\n"))
	}
	return b.Len() <= maxInline
}

// argsValue is the value a list of arguments shows: one argument as
// itself, several as an array.
func argsValue(args []any) any {
	if len(args) == 1 {
		return args[0]
	}
	return args
}

// argsJSON shows a list of arguments: one argument as itself, several as an
// array, none as "".
func argsJSON(args []any) string {
	switch len(args) {
	case 0:
		return ""
	case 1:
		return prettyJSON(args[0])
	}
	return prettyJSON(args)
}

// truncate cuts s to at most n bytes, at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
