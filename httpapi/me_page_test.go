package httpapi

import (
	"strings"
	"testing"
	"time"
)

// TestEvacueePageData: /api/me gives the evacuee's page its own
// instruction's rally point, walk, window, group code and people, as the
// issued instruction says them, and another household's link gives that
// household's, never this one's.
func TestEvacueePageData(t *testing.T) {
	var now time.Time
	e := scenarioEnv(t, openSQLite(t), 12, &now)
	_, byHH, links := issuedScenario(t, e)
	checked := 0
	for h, link := range links {
		want := byHH[h].Instruction
		var view evacueeView
		e.do("", "GET", "/api/me/"+link, nil, 200, &view)
		in := view.Instruction
		if in == nil {
			t.Fatalf("household %s: no instruction on its page", h)
		}
		rp := in.RallyPoint
		if rp.ID != want.RallyPoint.ID || rp.Name != want.RallyPoint.Name || rp.Lat != want.RallyPoint.Lat || rp.Lon != want.RallyPoint.Lon || rp.Lat == 0 {
			t.Errorf("household %s: rally point %+v, issued %+v", h, rp, want.RallyPoint)
		}
		if !in.ReportFrom.Equal(want.ReportFrom) || !in.ReportBy.Equal(want.ReportBy) || in.GroupCode != want.GroupCode || in.People != want.People ||
			in.TimeZone != want.TimeZone || in.GroupCode == "" || in.People == 0 {
			t.Errorf("household %s: window %s-%s group %s people %d zone %s; issued %s-%s %s %d %s", h, in.ReportFrom, in.ReportBy, in.GroupCode, in.People, in.TimeZone,
				want.ReportFrom, want.ReportBy, want.GroupCode, want.People, want.TimeZone)
		}
		if len(want.Walk.Steps) > 0 {
			if in.Walk == nil || len(in.Walk.Steps) != len(want.Walk.Steps) || in.Walk.DistanceM != want.Walk.DistanceM || in.Walk.Steps[0] != want.Walk.Steps[0] {
				t.Errorf("household %s: walk %+v, issued %+v", h, in.Walk, want.Walk)
			}
			checked++
		}
		if !strings.Contains(in.Text, want.GroupCode) {
			t.Errorf("household %s: the group code %s is not in its text either", h, want.GroupCode)
		}
	}
	if checked == 0 {
		t.Fatal("no household of the scenario has a walk: nothing checked")
	}
}
