package instruct

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/planfixture"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

var groupCodeRE = regexp.MustCompile(`^[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{2}$`)

// The demo city's approved plan: every household it serves gets exactly
// one instruction, every group's escort one; walking directions name the
// foot network's streets; the gate is told to escorts only; group codes
// are unique and code words shared by a rally point; report windows keep
// every rally point within its capacity.
func TestBuildFromDemoPlan(t *testing.T) {
	c := testCity(t)
	opts := testOptions(c)
	ins, err := Build(c.plan, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := c.plan
	if len(p.Households) < 300 {
		t.Fatalf("the demo plan serves only %d households", len(p.Households))
	}
	byHousehold := map[string][]muster.Instruction{}
	byGroup := map[string]muster.Instruction{}
	for _, in := range ins {
		switch in.Audience {
		case muster.AudienceHousehold:
			byHousehold[in.Household] = append(byHousehold[in.Household], in)
		case muster.AudienceEscort:
			byGroup[in.Group] = in
		default:
			t.Fatalf("%s: audience %q", in.ID, in.Audience)
		}
	}
	if len(byHousehold) != len(p.Households) || len(byGroup) != len(p.Groups) || len(ins) != len(p.Households)+len(p.Groups) {
		t.Fatalf("%d instructions for %d households and %d groups", len(ins), len(p.Households), len(p.Groups))
	}
	for _, u := range p.Unassigned {
		if len(byHousehold[u.Household]) > 0 {
			t.Errorf("unserved household %s has an instruction", u.Household)
		}
	}
	streetNames := map[string]bool{}
	foot := c.city.Graphs[roadgraph.Foot]
	for _, n := range foot.Names {
		streetNames[n] = true
	}
	groups := map[string]plan.Group{}
	for _, g := range p.Groups {
		groups[g.ID] = g
	}
	codes := map[string]string{}
	words := map[string]string{}
	var named, walked float64
	langs := map[string]int{}
	for _, h := range p.Households {
		list := byHousehold[h.ID]
		if len(list) != 1 {
			t.Fatalf("household %s has %d instructions", h.ID, len(list))
		}
		in := list[0]
		g := groups[h.Group]
		langs[in.Language]++
		if in.ID != "I-"+h.ID+"/v1" || in.Series != "I-"+h.ID || in.Version != 1 || in.Supersedes != "" {
			t.Errorf("%s: ids %q %q v%d supersedes %q", h.ID, in.ID, in.Series, in.Version, in.Supersedes)
		}
		if in.Escort != nil {
			t.Fatalf("%s: a household is told the gate", h.ID)
		}
		if in.RallyPoint.ID != h.RallyPoint || in.People != h.People || in.Group != h.Group || !in.ReportBy.Equal(h.ReportBy) {
			t.Errorf("%s: instruction %+v does not say what the plan says %+v", h.ID, in, h)
		}
		if !groupCodeRE.MatchString(in.GroupCode) {
			t.Errorf("%s: group code %q", h.ID, in.GroupCode)
		}
		if c, ok := codes[in.Group]; ok && c != in.GroupCode {
			t.Errorf("group %s has codes %s and %s", in.Group, c, in.GroupCode)
		}
		codes[in.Group] = in.GroupCode
		if w, ok := words[in.RallyPoint.ID]; ok && w != in.CodeWord {
			t.Errorf("rally point %s has code words %s and %s", in.RallyPoint.ID, w, in.CodeWord)
		}
		words[in.RallyPoint.ID] = in.CodeWord
		// The window: at most 20 minutes, never before the household can
		// have walked there, never after its report-by time.
		earliest := p.Params.Start.Add(time.Duration(in.Walk.DurationS) * time.Second)
		if in.ReportFrom.After(in.ReportBy) || in.ReportBy.Sub(in.ReportFrom) > 20*time.Minute || in.ReportFrom.Before(earliest) && in.ReportFrom.Before(in.ReportBy) {
			t.Errorf("%s: window %s-%s, earliest arrival %s", h.ID, in.ReportFrom, in.ReportBy, earliest)
		}
		if !in.ExpiresAt.After(g.Through) {
			t.Errorf("%s: expires %s, before its group is through (%s)", h.ID, in.ExpiresAt, g.Through)
		}
		// Directions: a depart, an arrive, streets of the foot network,
		// distances that add up to the walk.
		steps := in.Walk.Steps
		if len(steps) < 2 || steps[0].Maneuver != muster.ManeuverDepart || steps[len(steps)-1].Maneuver != muster.ManeuverArrive {
			t.Fatalf("%s: steps %+v", h.ID, steps)
		}
		sum := 0
		for _, s := range steps {
			if !streetNames[s.Street] {
				t.Errorf("%s: street %q is not in the foot network", h.ID, s.Street)
			}
			sum += s.DistanceM
			walked += float64(s.DistanceM)
			if s.Street != "" {
				named += float64(s.DistanceM)
			}
		}
		if d := sum - in.Walk.DistanceM; d > 5+in.Walk.DistanceM/50 || d < -5-in.Walk.DistanceM/50 {
			t.Errorf("%s: steps add up to %d m, the walk is %d m", h.ID, sum, in.Walk.DistanceM)
		}
	}
	t.Logf("%d household instructions (%v), %d escorts; %.0f%% of the walking on named streets", len(byHousehold), langs, len(byGroup), 100*named/walked)
	if named < 0.8*walked {
		t.Errorf("only %.0f%% of the walking is on named streets", 100*named/walked)
	}
	if len(langs) != 3 {
		t.Errorf("languages %v: the scenario has households in all three", langs)
	}
	seen := map[string]string{}
	for id, code := range codes {
		if other, ok := seen[code]; ok {
			t.Errorf("groups %s and %s share code %s", id, other, code)
		}
		seen[code] = id
	}
	// Escorts: told the gate and the schedule of their group.
	for _, g := range p.Groups {
		e := byGroup[g.ID]
		if e.Escort == nil || e.Escort.Gate.ID != g.Gate || !e.Escort.Departure.Equal(g.Departure) || e.People != g.People ||
			e.Escort.Households != len(g.Households) || e.GroupCode != codes[g.ID] || e.Series != "E-"+g.ID {
			t.Errorf("escort of %s: %+v", g.ID, e)
		}
	}
	checkRallyCapacity(t, p, byGroup)
}

// checkRallyCapacity counts the people at each rally point at once, each
// group there from its window's start until it departs.
func checkRallyCapacity(t *testing.T, p *plan.Plan, escorts map[string]muster.Instruction) {
	t.Helper()
	byRally := map[string][]plan.Group{}
	for _, g := range p.Groups {
		byRally[g.RallyPoint] = append(byRally[g.RallyPoint], g)
	}
	widened := 0
	for _, r := range p.RallyPoints {
		if r.Capacity <= 0 {
			continue
		}
		for _, g := range byRally[r.ID] {
			at := escorts[g.ID].ReportFrom
			if at.Before(g.ReportBy) {
				widened++
			}
			n := 0
			for _, o := range byRally[r.ID] {
				if !escorts[o.ID].ReportFrom.After(at) && o.Departure.After(at) {
					n += o.People
				}
			}
			if n > r.Capacity {
				t.Errorf("rally point %s holds %d people at %s, capacity %d", r.ID, n, at, r.Capacity)
			}
		}
	}
	if widened == 0 {
		t.Errorf("no group has a report-by window")
	}
}

func TestBuildIsDeterministicAndKeyed(t *testing.T) {
	c := testCity(t)
	opts := testOptions(c)
	a, err := Build(c.plan, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(c.plan, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].Digest() != b[i].Digest() {
			t.Fatalf("%s differs between two builds", a[i].ID)
		}
	}
	// JSON keeps every field: the digest survives a round trip.
	data, err := json.Marshal(a[0])
	if err != nil {
		t.Fatal(err)
	}
	var back muster.Instruction
	if err := json.Unmarshal(data, &back); err != nil || back.Digest() != a[0].Digest() {
		t.Errorf("a JSON round trip changes %s: %v", a[0].ID, err)
	}
	// Another secret, or another epoch: other codes and code words.
	for _, change := range []func(*Options){
		func(o *Options) { o.Secret = []byte("another deployment's secret, 32b") },
		func(o *Options) { o.Epoch = "2" },
	} {
		o := opts
		change(&o)
		d, err := Build(c.plan, c.households, c.streets, o)
		if err != nil {
			t.Fatal(err)
		}
		sameCode, sameWord := 0, 0
		rallies := map[string]bool{}
		for i := range a {
			if a[i].GroupCode == d[i].GroupCode {
				sameCode++
			}
			if !rallies[a[i].RallyPoint.ID] {
				rallies[a[i].RallyPoint.ID] = true
				if a[i].CodeWord == d[i].CodeWord {
					sameWord++
				}
			}
		}
		if sameCode > len(a)/100 || sameWord > len(rallies)/4+1 {
			t.Errorf("%d of %d group codes and %d of %d code words stay the same", sameCode, len(a), sameWord, len(rallies))
		}
	}
}

func TestBuildChecksItsInputs(t *testing.T) {
	c := testCity(t)
	proposed := *c.plan
	proposed.Status = muster.PlanProposed
	if _, err := Build(&proposed, c.households, c.streets, testOptions(c)); err == nil || !strings.Contains(err.Error(), "approve it first") {
		t.Errorf("a proposed plan: %v", err)
	}
	o := testOptions(c)
	o.AllowProposed = true
	if _, err := Build(&proposed, c.households, c.streets, o); err != nil {
		t.Errorf("a proposed plan, allowed: %v", err)
	}
	for name, change := range map[string]func(*Options){
		"short secret":   func(o *Options) { o.Secret = []byte("short") },
		"unknown item":   func(o *Options) { o.Bring = []string{"bring.gold"} },
		"item of other":  func(o *Options) { o.DoNotBring = []string{"bring.water_food"} },
		"unknown zone":   func(o *Options) { o.TimeZone = "Mars/Olympus" },
		"unknown lang":   func(o *Options) { o.DefaultLanguage = "de" },
		"unknown escort": func(o *Options) { o.EscortLanguage = "fr" },
	} {
		o := testOptions(c)
		change(&o)
		if _, err := Build(c.plan, c.households, c.streets, o); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	broken := *c.plan
	broken.Households = append([]plan.Household{{ID: "H-X", Group: "G-none"}}, c.plan.Households...)
	if _, err := Build(&broken, c.households, c.streets, testOptions(c)); err == nil || !strings.Contains(err.Error(), "G-none") {
		t.Errorf("a household in a group the plan lacks: %v", err)
	}
}

// A household in a language muster does not write gets the default, and
// the operator is told; one missing from the list gets no name.
func TestUnknownLanguageFallsBack(t *testing.T) {
	c := testCity(t)
	hs := slices.Clone(c.households)
	first := c.plan.Households[0].ID
	for i := range hs {
		if hs[i].ID == first {
			hs[i].Language = "tlh"
		}
	}
	var logs bytes.Buffer
	o := testOptions(c)
	o.DefaultLanguage = muster.LangDari
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ins, err := Build(c.plan, hs, c.streets, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.Household == first && in.Language != muster.LangDari {
			t.Errorf("%s: language %s", first, in.Language)
		}
	}
	if !strings.Contains(logs.String(), "language=tlh") || !strings.Contains(logs.String(), "households=1") {
		t.Errorf("no warning: %s", logs.String())
	}
	logs.Reset()
	if _, err := Build(c.plan, hs[1:], c.streets, o); err != nil || !strings.Contains(logs.String(), "missing from the evacuee list") {
		t.Errorf("a household missing from the list: %v, %s", err, logs.String())
	}
}

// Re-issue against the same plan changes nothing; after a re-plan (a
// threat, the busiest gate closed) only households whose instruction
// changed get a new version, which supersedes the old one and says what
// changed; households the plan no longer serves are revoked; groups keep
// their codes.
func TestReissueAfterReplan(t *testing.T) {
	c := testCity(t)
	opts := testOptions(c)
	v1, err := Build(c.plan, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	same, err := Reissue(v1, nil, c.plan, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Changed) != 0 || len(same.Revoked) != 0 || len(same.Unchanged) != len(v1) {
		t.Fatalf("the same plan again: %d changed, %d revoked, %d unchanged of %d", len(same.Changed), len(same.Revoked), len(same.Unchanged), len(v1))
	}

	p1, zones := replan(t, c)
	opts.IssuedAt = opts.IssuedAt.Add(90 * time.Minute)
	rev, err := Reissue(v1, nil, p1, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]muster.Instruction{}
	for _, in := range v1 {
		old[in.Series] = in
	}
	planChanged := map[string]bool{}
	planFields := map[string][]string{}
	for _, ch := range p1.Diff.Changes {
		planChanged[ch.Household] = true
		planFields[ch.Household] = ch.Fields
	}
	inForce := map[string]int{}
	for _, id := range rev.Unchanged {
		inForce[strings.Split(id, "/")[0]]++
	}
	householdsChanged := 0
	for _, ch := range rev.Changed {
		in := ch.Instruction
		inForce[in.Series]++
		prev, existed := old[in.Series]
		if !existed {
			if in.Version != 1 || ch.Changes != nil || in.Supersedes != "" {
				t.Errorf("new %s: v%d, fields %v, supersedes %q", in.Series, in.Version, ch.Changes, in.Supersedes)
			}
			continue
		}
		if in.Version != 2 || in.Supersedes != prev.ID || in.ID != in.Series+"/v2" || len(ch.Changes) == 0 ||
			!slices.Equal(ch.Changes, muster.Changed(&prev, &in)) || !in.IssuedAt.Equal(opts.IssuedAt) {
			t.Errorf("%s: v%d supersedes %q, fields %v", in.ID, in.Version, in.Supersedes, ch.Changes)
		}
		if in.Audience == muster.AudienceHousehold {
			householdsChanged++
			// What changed for a household is what the plan changed for it,
			// or its group's times.
			if !planChanged[in.Household] && slices.ContainsFunc(ch.Changes, func(f string) bool {
				return f == muster.ChangedRallyPoint || f == muster.ChangedGroup || f == muster.ChangedWalk
			}) {
				t.Errorf("%s: %v changed, but the plan keeps its instruction", in.Household, ch.Changes)
			}
		}
	}
	servedNow := map[string]bool{}
	for _, h := range p1.Households {
		servedNow[h.ID] = true
		if inForce["I-"+h.ID] != 1 {
			t.Errorf("household %s has %d instructions in force", h.ID, inForce["I-"+h.ID])
		}
	}
	for _, id := range rev.Revoked {
		series := strings.Split(id, "/")[0]
		if strings.HasPrefix(series, "I-") && servedNow[strings.TrimPrefix(series, "I-")] {
			t.Errorf("%s revoked, but its household is still served", id)
		}
	}
	for _, h := range c.plan.Households {
		if !servedNow[h.ID] && !slices.Contains(rev.Revoked, "I-"+h.ID+"/v1") {
			t.Errorf("household %s is no longer served but its instruction is not revoked", h.ID)
		}
	}
	unchangedHouseholds, keptDespitePlan := 0, 0
	for _, id := range rev.Unchanged {
		if strings.HasPrefix(id, "I-") {
			unchangedHouseholds++
			// A household is not told its group's gate or drive: when only
			// they change, its instruction stays as it is.
			h := strings.TrimSuffix(strings.TrimPrefix(id, "I-"), "/v1")
			if slices.ContainsFunc(planFields[h], func(f string) bool { return f != "gate" && f != "route" }) {
				t.Errorf("%s kept, but the plan changes its %v", id, planFields[h])
			}
			if planChanged[h] {
				keptDespitePlan++
			}
		}
	}
	t.Logf("re-plan: plan changes %d households; re-issue: %d household instructions changed, %d unchanged (%d of them only changed gate or drive), %d revoked; %d escorts changed (zones: %d)",
		len(p1.Diff.Changes), householdsChanged, unchangedHouseholds, keptDespitePlan, len(rev.Revoked), len(rev.Changed)-householdsChanged, len(zones))
	// An escort whose group now goes to another gate is told.
	gate0 := map[string]string{}
	for _, g := range c.plan.Groups {
		gate0[g.ID] = g.Gate
	}
	for _, g := range p1.Groups {
		if old, ok := gate0[g.ID]; ok && old != g.Gate {
			if !slices.ContainsFunc(rev.Changed, func(ch Change) bool {
				return ch.Instruction.Series == "E-"+g.ID && slices.Contains(ch.Changes, muster.ChangedGate)
			}) {
				t.Errorf("group %s goes to %s instead of %s, its escort is not told", g.ID, g.Gate, old)
			}
		}
	}
	if householdsChanged == 0 || unchangedHouseholds == 0 {
		t.Errorf("%d households changed, %d unchanged: a re-plan after a gate closes changes some and keeps others", householdsChanged, unchangedHouseholds)
	}
	// Groups kept by the re-plan keep their codes.
	codes := map[string]string{}
	for _, in := range v1 {
		codes[in.Group] = in.GroupCode
	}
	for _, ch := range rev.Changed {
		if c, ok := codes[ch.Instruction.Group]; ok && c != ch.Instruction.GroupCode {
			t.Errorf("group %s: code %s became %s", ch.Instruction.Group, c, ch.Instruction.GroupCode)
		}
	}
	// Compare says the same as the revision.
	var v2 []muster.Instruction
	for _, in := range v1 {
		if slices.Contains(rev.Unchanged, in.ID) {
			v2 = append(v2, in)
		}
	}
	for _, ch := range rev.Changed {
		v2 = append(v2, ch.Instruction)
	}
	diffs, sameCount := Compare(v1, v2)
	if sameCount != len(rev.Unchanged) || len(diffs) != len(rev.Changed)+len(rev.Revoked) {
		t.Errorf("Compare: %d differences, %d same; the revision: %d changed, %d revoked, %d unchanged", len(diffs), sameCount, len(rev.Changed), len(rev.Revoked), len(rev.Unchanged))
	}
	// A household the plan no longer serves has its instruction revoked.
	smaller := *p1
	gone := p1.Households[0].ID
	smaller.Households = p1.Households[1:]
	r2, err := Reissue(v1, nil, &smaller, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r2.Revoked, "I-"+gone+"/v1") || slices.ContainsFunc(r2.Changed, func(ch Change) bool { return ch.Instruction.Household == gone }) {
		t.Errorf("household %s left the plan: revoked %v", gone, r2.Revoked)
	}
	// One that comes back after its instruction was revoked continues its
	// versions: no id is issued twice.
	again, err := Reissue(nil, map[string]int{"I-" + gone: 3}, p1, c.households, c.streets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(again.Changed, func(ch Change) bool { return ch.Instruction.ID == "I-"+gone+"/v4" }) {
		t.Errorf("a series revoked at v3 does not come back as v4")
	}
}

// replan closes the busiest gate and puts a forbidden zone on a group's
// route, forty minutes in, and approves the re-plan.
func replan(t *testing.T, c *demoCity) (*plan.Plan, []muster.Zone) {
	t.Helper()
	ctx := context.Background()
	p0 := c.plan
	busiest := planfixture.BusiestGate(p0, nil)
	zones := planfixture.BombOffGate(p0, busiest)
	car, err := route.New(ctx, c.city.Graphs[roadgraph.Car], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foot, err := route.New(ctx, c.city.Graphs[roadgraph.Foot], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*route.Router{car, foot} {
		if _, err := r.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := plan.Replan(ctx, p0, plan.Input{Car: car, Foot: foot, Places: c.places, Households: c.households,
		GateStatus: map[string]string{busiest: muster.GateClosed}}, plan.State{At: demoStart.Add(40 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Approve(p1); err != nil {
		t.Fatal(err)
	}
	return p1, zones
}
