package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// Page sizes of "wfctl list".
const (
	defaultListLimit = 50
	maxListLimit     = 10000
)

func listCommand() *command {
	var (
		status   string
		workflow string
		limit    int
		cursor   string
		all      bool
		asJSON   bool
		search   searchFlag
	)
	return &command{
		name:    "list",
		summary: "list instances, newest first",
		description: `
List the instances of the namespace, newest first (by when their current
run started or, once finished, finished), with their status, and the
number of instances per status. A page reads about the page from the list
index, whatever the size of the namespace.

--status, --workflow and --search KEY=VALUE (repeatable: every pair must
match; the instance's search attributes) filter; --limit sets the page size. When there is
more, the last line shows the command for the next page (--cursor, or
--next); --all
reads every page. Paging is stable: instances started meanwhile do not
shift later pages.

Statuses: running, completed, failed, canceled, terminated,
continued-as-new.`,
		examples: []string{
			`wfctl list`,
			`wfctl list --status failed --workflow ProcessOrder`,
			`wfctl list --search customer=acme --search region=eu`,
			`wfctl list --limit 20 --next x41207`,
			`wfctl list --all --json | jq -r '.instances[].instance_id'`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&status, "status", "", "only instances with this `STATUS`")
			fs.StringVar(&workflow, "workflow", "", "only instances of this workflow `NAME`")
			fs.IntVar(&limit, "limit", defaultListLimit, "page size: at most `N` instances")
			fs.StringVar(&cursor, "cursor", "", "continue after a previous page (its next `CURSOR`)")
			fs.StringVar(&cursor, "next", "", "`CURSOR`: same as --cursor")
			fs.Var(&search, "search", "only instances with this search attribute `KEY=VALUE` (repeatable)")
			fs.BoolVar(&all, "all", false, "read every page")
			fs.BoolVar(&asJSON, "json", false, "write JSON: {instances, next_cursor, counts}")
		},
		run: func(ctx context.Context, a *app, _ []string) error {
			if err := oneOf("status", streams.Status(status), streams.Statuses); err != nil {
				return err
			}
			if limit < 1 || limit > maxListLimit {
				return usageErrorf("list: --limit must be between 1 and %d, got %d", maxListLimit, limit)
			}
			if all && cursor != "" {
				return usageErrorf("list: --all and --cursor exclude each other")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			opts := client.ListOptions{Status: streams.Status(status), WorkflowName: workflow, Limit: limit, Cursor: cursor,
				SearchAttributes: search.attrs}
			if all {
				// Read in as few pages as possible.
				opts.Limit = maxListLimit
			}
			page, err := listPages(ctx, a, c, opts, all)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, page)
			}
			return printList(a, page, len(search.attrs) > 0)
		},
	}
}

// listPages reads one page, or every page with all.
func listPages(ctx context.Context, a *app, c *client.Client, opts client.ListOptions, all bool) (*client.InstancePage, error) {
	var out *client.InstancePage
	for {
		octx, cancel := a.opContext(ctx)
		page, err := c.ListWorkflowInstances(octx, opts)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		if out == nil {
			out = page
		} else {
			out.Instances = append(out.Instances, page.Instances...)
			out.NextCursor = page.NextCursor
		}
		if !all || page.NextCursor == "" {
			return out, nil
		}
		opts.Cursor = page.NextCursor
	}
}

// printList writes a page as a table with the counts and the next page's
// cursor below; searched says the list was filtered by search attributes,
// which the counts are not.
func printList(a *app, page *client.InstancePage, searched bool) error {
	if len(page.Instances) == 0 {
		fmt.Fprintln(a.stdout, "no instances")
	} else {
		now := time.Now()
		t := newTable(a.stdout, "INSTANCE ID", "WORKFLOW", "STATUS", "STARTED", "DURATION", "RUN")
		for _, in := range page.Instances {
			t.row(in.InstanceID, in.WorkflowName, string(in.Status), formatTime(in.CreatedAt, timeLayout),
				runDuration(in, now), shortID(in.ExecutionID))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if searched {
		// The index counts per status and workflow, not per search
		// attribute: say so rather than pass them off as the filter's.
		fmt.Fprintf(a.stdout, "\n%s (not narrowed by --search)\n", formatCounts(page.Counts))
	} else {
		fmt.Fprintf(a.stdout, "\n%s\n", formatCounts(page.Counts))
	}
	if page.NextCursor != "" {
		fmt.Fprintf(a.stdout, "more: wfctl list --cursor '%s' (same filters)\n", page.NextCursor)
	}
	return nil
}

// runDuration is how long the current run took, or has been running.
func runDuration(in *client.InstanceInfo, now time.Time) string {
	if in.CreatedAt.IsZero() {
		return "-"
	}
	if !in.FinishedAt.IsZero() {
		return formatDuration(in.FinishedAt.Sub(in.CreatedAt))
	}
	if in.Status == streams.StatusRunning {
		return formatDuration(now.Sub(in.CreatedAt)) + "+"
	}
	return "-"
}

// formatCounts writes the counts per status in the order of
// streams.Statuses, as "total 12: running 2, completed 10".
func formatCounts(counts map[streams.Status]int) string {
	total := 0
	var parts []string
	for _, s := range streams.Statuses {
		if n := counts[s]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if total == 0 {
		return "total 0"
	}
	return fmt.Sprintf("total %d: %s", total, strings.Join(parts, ", "))
}

// shortID shortens a UUID-like ID for tables; the full one is in
// "describe" and in --json.
func shortID(id string) string {
	if len(id) > 13 {
		return id[:8] + "…"
	}
	return id
}

// searchFlag collects repeated --search KEY=VALUE flags.
type searchFlag struct{ attrs map[string]string }

func (f *searchFlag) String() string { return "" }

func (f *searchFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	if f.attrs == nil {
		f.attrs = map[string]string{}
	}
	f.attrs[k] = val
	return nil
}
