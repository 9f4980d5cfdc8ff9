package diag

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
)

func TestSchedulesPages(t *testing.T) {
	e := newEnv(t)
	res := serve(e.h, httptest.NewRequest(http.MethodGet, "/schedules", nil))
	assert.Equal(t, http.StatusOK, res.Code)
	assert.Contains(t, res.Body, "No schedules")

	require.NoError(t, e.c.CreateSchedule(e.ctx(), client.ScheduleOptions{
		ScheduleID: "hourly", Spec: client.ScheduleSpec{Every: time.Hour}, Workflow: Busy,
	}))
	res = serve(e.h, httptest.NewRequest(http.MethodGet, "/schedules", nil))
	assert.Contains(t, res.Body, `href="/schedules/hourly"`)
	assert.Contains(t, res.Body, "every 1h0m0s")

	res = e.post("/schedules/hourly/pause", url.Values{"note": {"quiet"}})
	assert.Equal(t, http.StatusSeeOther, res.Code, res.Body)
	res = serve(e.h, httptest.NewRequest(http.MethodGet, "/schedules/hourly", nil))
	assert.Contains(t, res.Body, "paused: quiet")
	assert.Contains(t, res.Body, "Unpause")

	res = e.post("/schedules/hourly/trigger", nil)
	assert.Equal(t, http.StatusSeeOther, res.Code, res.Body)
	waitFor(t, 20*time.Second, "the trigger's instance on the page", func() bool {
		res = serve(e.h, httptest.NewRequest(http.MethodGet, "/schedules/hourly", nil))
		return res.Code == http.StatusOK && containsAll(res.Body, "trigger", "started", `href="/instances/hourly-`)
	})
	res = e.post("/schedules/hourly/unpause", nil)
	assert.Equal(t, http.StatusSeeOther, res.Code, res.Body)

	res = serve(e.h, httptest.NewRequest(http.MethodGet, "/schedules/nope", nil))
	assert.Equal(t, http.StatusNotFound, res.Code)
	res = e.post("/schedules/nope/pause", nil)
	assert.Equal(t, http.StatusNotFound, res.Code)
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
