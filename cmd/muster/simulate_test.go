package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/httpapi"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/simulate"
)

// muster simulate on the demo city, twice with one seed: the same report;
// bad flags are refused with the reason.
func TestSimulateDemo(t *testing.T) {
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"simulate", "-q", "--scale", "0.5", "--households", "400", "--seed", "3", "-o", filepath.Join(dir, out)}
	}
	out, _, err := run(t, args("a")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"muster plan", "nearest gate", "CCRP", "fake_reports", "gate_close", "report.html"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, args("b")...); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a", "report.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "b", "report.json"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the same seed gave different reports")
	}
	for _, bad := range [][]string{
		{"simulate", "-o", dir, "--no-show", "2"},
		{"simulate", "-o", dir, "--places", "p.geojson"},
		{"simulate", "-o", dir, "--queue-area", "gate-1"},
		{"simulate"},
	} {
		_, _, err := run(t, bad...)
		if muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("%v: %v, want an EINVALID error", bad, err)
		}
	}
}

// TestSimulatedFieldThroughAServer: an exercise's field events, sent to a
// live server (SQLite, in-process) with `muster field replay --server`, make
// the live state the server answers (`muster status --server`), which is
// the one the events make against the plan simulated and counts as through
// exactly the people the simulation had through by then; `muster simulate
// --post` sends them itself; `muster simulate --server` runs an exercise on
// the server's own plan and households, which the server then keeps.
func TestSimulatedFieldThroughAServer(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "tester")
	d, err := simulate.NewDemo(ctx, simulate.DemoOptions{Seed: 3, Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(ctx, plan.Input{Car: d.Input.Car, Foot: d.Input.Foot, Places: d.Input.Places, Households: d.Input.Households, Params: plan.Params{Start: simulate.DemoStart}})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Approve(p); err != nil {
		t.Fatal(err)
	}
	in := d.Input
	in.Plan = p
	res, err := simulate.Run(ctx, in, simulate.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}

	data := newDataStore(t)
	sf := storeFlags{data: data}
	st, err := sf.openStore(ctx, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secrets := map[string]string{}
	for _, role := range []string{muster.RoleField, muster.RolePlanner} {
		hash, err := muster.HashPasswordCost("correct horse battery "+role, muster.PasswordCost{MemoryKiB: 64, Passes: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, muster.User{Name: role + "-1", Role: role, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
		secrets[role] = role + "-secret-token-0123456789abcdef0123456789"
		if err := st.CreateToken(ctx, muster.Token{ID: "tok-" + role, User: role + "-1", Kind: muster.TokenAPI, Hash: muster.TokenHash(secrets[role]), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ImportHouseholds(ctx, d.Input.Households, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(p)
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApprovePlan(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	now := simulate.DemoStart.Add(100 * time.Minute)
	api, err := httpapi.New(httpapi.Config{Store: st, IPRate: -1, AccountRate: -1, OverdueSweep: -1, Now: func() time.Time { return now },
		Car: d.Input.Car, Foot: d.Input.Foot, Places: d.Input.Places})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()

	// The field up to now, as the simulation reported it.
	var evs []muster.FieldEvent
	for _, e := range res.Events {
		if fe := e.FieldEvent(); !fe.At.After(now) {
			evs = append(evs, fe)
		}
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	writeEvents(t, file, evs)
	out, _, err := run(t, "field", "replay", file, "--server", srv.URL, "--token", secrets[muster.RoleField])
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d recorded", len(evs))) {
		t.Fatalf("replay of the simulated field: %v\n%s", err, out)
	}
	out, _, err = run(t, "status", "--server", srv.URL, "--token", secrets[muster.RoleField], "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var got operation.State
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := operation.Compute(p, evs, now, operation.Options{})
	if got.Totals != want.Totals || got.Plan != rec.ID {
		t.Fatalf("the server's live state %+v (plan %s), the events make %+v", got.Totals, got.Plan, want.Totals)
	}
	// Sweeps (the operations room's groups for latecomers, docs/exercise.md)
	// are not in the plan: the live state flags their events as unknown
	// and keeps their people at their rally point, so it counts fewer
	// through than the simulation, never more.
	sweepPeople := 0
	for _, e := range evs {
		if e.Kind == muster.FieldDeparted && strings.HasPrefix(e.Group, "sweep-") {
			sweepPeople += e.People
		}
	}
	m := res.Report.Run(simulate.NameMuster)
	minute := int(now.Sub(simulate.DemoStart).Minutes())
	if got.Totals.Through == 0 || got.Totals.Through > m.Series.Safe[minute] || got.Totals.Through+sweepPeople < m.Series.Safe[minute] {
		t.Errorf("the live state has %d through (%d at rally points, %d on the way); the simulation had %d through at minute %d, %d of them left in sweeps",
			got.Totals.Through, got.Totals.AtRally, got.Totals.OnTheWay, m.Series.Safe[minute], minute, sweepPeople)
	}
	t.Logf("at minute %d: the live state has %d through, the simulation %d, %d people left in sweeps the plan does not know", minute, got.Totals.Through, m.Series.Safe[minute], sweepPeople)

	// muster simulate --server: the exercise on the server's plan, kept there.
	out, _, err = run(t, "simulate", "--server", srv.URL, "--token", secrets[muster.RolePlanner], "--seed", "2", "--no-baselines", "-o", filepath.Join(t.TempDir(), "srv"))
	if err != nil || !strings.Contains(out, "muster plan") || !strings.Contains(out, rec.ID) {
		t.Fatalf("simulate --server: %v\n%s", err, out)
	}
	if _, _, err := run(t, "simulate", "--server", srv.URL, "--token", secrets[muster.RoleField], "--seed", "2"); err == nil || !strings.Contains(err.Error(), "planner") && !strings.Contains(err.Error(), "role") {
		t.Errorf("a field officer ran an exercise on the server: %v", err)
	}
	// muster simulate --post: the demo's own events, each recorded once.
	out, _, err = run(t, "simulate", "-q", "--households", "200", "--seed", "3", "--no-baselines", "-o", filepath.Join(t.TempDir(), "post"),
		"--post", srv.URL, "--token", secrets[muster.RoleField])
	if err != nil || !strings.Contains(out, "posting") || !strings.Contains(out, "recorded") {
		t.Fatalf("simulate --post: %v\n%s", err, out)
	}
}
