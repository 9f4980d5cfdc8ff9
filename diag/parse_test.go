package diag

import (
	"html"
	"regexp"
	"strings"
)

// Small readers of the pages' test hooks. The templates write attributes
// in a fixed order, which these rely on.

// row is an instance row of the list.
type row struct{ ID, Status, Workflow string }

var rowRE = regexp.MustCompile(`data-testid="instance-row" data-instance-id="([^"]*)" data-status="([^"]*)" data-workflow="([^"]*)"`)

// rows reads the instance rows of a list page.
func rows(body string) []row {
	var out []row
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, row{ID: html.UnescapeString(m[1]), Status: m[2], Workflow: html.UnescapeString(m[3])})
	}
	return out
}

// rowIDs reads the IDs of the instance rows.
func rowIDs(body string) []string {
	var ids []string
	for _, r := range rows(body) {
		ids = append(ids, r.ID)
	}
	return ids
}

// href reads the href of the element with the test ID (the attribute
// before data-testid).
func href(body, testid string) string {
	re := regexp.MustCompile(`href="([^"]*)"[^>]*data-testid="` + regexp.QuoteMeta(testid) + `"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// attr reads an attribute of the body element.
func bodyAttr(body, name string) string {
	re := regexp.MustCompile(`<body[^>]*\s` + regexp.QuoteMeta(name) + `="([^"]*)"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

var kindRE = regexp.MustCompile(`data-testid="event" data-kind="([^"]*)"`)

// kinds lists the kinds of the history's events, in order.
func kinds(body string) []string {
	var out []string
	for _, m := range kindRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// tabCount reads the count of a status tab ("" for all).
func tabCount(body, status string) string {
	re := regexp.MustCompile(`data-testid="status-tab" data-status="` + regexp.QuoteMeta(status) + `"[^>]*>.*?<span class="count">(\d+)</span>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// text is the body with its entities decoded, for searching text.
func text(body string) string { return html.UnescapeString(body) }

// has reports whether the body has an element with the test ID.
func has(body, testid string) bool { return strings.Contains(body, `data-testid="`+testid+`"`) }
