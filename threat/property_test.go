package threat

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

var propT0 = time.Date(2021, 8, 21, 18, 0, 0, 0, time.UTC)

var zoneKinds = []string{muster.KindAttackThreat, muster.KindAttackCapability, muster.KindPresence,
	muster.KindExplosion, muster.KindGunfire, muster.KindCrowd, muster.KindCheckpoint, muster.KindRoadblock,
	muster.KindPrisonerRelease}

// randomReport makes a report in a 20 km square round Kabul, received in
// the three days before propT0.
func randomReport(rng *rand.Rand, id string, present bool) muster.Report {
	pt := orb.Point{69.1 + rng.Float64()*0.2, 34.45 + rng.Float64()*0.2}
	w := Likelihoods[rng.Intn(len(Likelihoods))]
	r := muster.Report{
		ID:             id,
		ReceivedAt:     propT0.Add(-time.Duration(rng.Intn(72*60)) * time.Minute),
		Source:         muster.Source{ID: fmt.Sprintf("src%d", rng.Intn(8)), Name: "S", Kind: muster.SourceOfficial},
		Reliability:    string(muster.ReliabilityGrades[rng.Intn(6)]),
		Credibility:    1 + rng.Intn(6),
		Actor:          []string{"", "ISIS-K", "Taliban"}[rng.Intn(3)],
		Kind:           zoneKinds[rng.Intn(len(zoneKinds))],
		Claim:          muster.ClaimPresent,
		Likelihood:     w.P,
		LikelihoodText: w.Phrase,
		Immediacy:      muster.Immediacies[rng.Intn(len(muster.Immediacies))],
		Severity:       1 + rng.Intn(5),
		Area:           muster.Area{Point: &pt, RadiusM: 200 + rng.Float64()*3000},
	}
	if !present {
		r.Claim = muster.ClaimAbsent
	}
	if rng.Intn(5) == 0 {
		r.ValidUntil = propT0.Add(time.Duration(rng.Intn(48)-12) * time.Hour)
		if r.ValidUntil.Before(r.ReceivedAt) {
			r.ValidUntil = r.ReceivedAt
		}
	}
	return r
}

func randomReports(rng *rand.Rand, n int, denials bool) []muster.Report {
	out := make([]muster.Report, n)
	for i := range out {
		out[i] = randomReport(rng, fmt.Sprintf("q%03d", i), !denials || rng.Intn(5) > 0)
	}
	return out
}

func buildAt(t testing.TB, rs []muster.Report, at time.Time) *Picture {
	t.Helper()
	p, err := Build(rs, nil, at, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rejected) > 0 {
		t.Fatal(p.Rejected)
	}
	return p
}

// riskAt is the highest risk of any zone containing pt.
func riskAt(p *Picture, pt orb.Point) float64 {
	r := 0.0
	for _, z := range p.Zones {
		if z.Contains(pt) {
			r = math.Max(r, z.Risk)
		}
	}
	return r
}

// counting returns a random report that counts in a zone, and its zone.
func counting(rng *rand.Rand, p *Picture, rs []muster.Report) (muster.Report, *Zone, bool) {
	for _, k := range rng.Perm(len(rs)) {
		if z := p.ZoneOf(rs[k].ID); z != nil && rs[k].Claim == muster.ClaimPresent {
			return rs[k], z, true
		}
	}
	return muster.Report{}, nil, false
}

func TestPropertyCorroborationNeverLowersRisk(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for trial := 0; trial < 200; trial++ {
		rs := randomReports(rng, 1+rng.Intn(30), true)
		p := buildAt(t, rs, propT0)
		base, z, ok := counting(rng, p, rs)
		if !ok {
			continue
		}
		// A new, independent source reports the same danger.
		c := base
		c.ID, c.Source.ID, c.Source.Via = "corroboration", "independent-source", ""
		c.Reliability, c.Credibility = string(muster.ReliabilityGrades[rng.Intn(6)]), 1+rng.Intn(6)
		c.Likelihood = rng.Float64()
		c.LikelihoodText = ""
		c.ReceivedAt = propT0.Add(-time.Duration(rng.Intn(600)) * time.Minute)
		c.ValidUntil = time.Time{}
		p2 := buildAt(t, append(append([]muster.Report(nil), rs...), c), propT0)
		z2 := p2.ZoneOf(base.ID)
		if z2 == nil || z2.Risk < z.Risk {
			t.Fatalf("trial %d: corroboration lowered the risk of %s from %.4f to %v", trial, z.ID, z.Risk, z2)
		}
		if z2.Confidence < z.Confidence && !z.Disputed {
			t.Fatalf("trial %d: corroboration lowered the confidence from %.4f to %.4f", trial, z.Confidence, z2.Confidence)
		}
	}
}

func TestPropertyRepeatingSourceNeverRaisesRisk(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	repeats := 0
	for trial := 0; trial < 200; trial++ {
		rs := randomReports(rng, 1+rng.Intn(30), true)
		p := buildAt(t, rs, propT0)
		base, z, ok := counting(rng, p, rs)
		if !ok {
			continue
		}
		// The same original source says it again, relayed by some outlet,
		// no more strongly and no more recently.
		c := base
		c.ID, c.Source.Via = "repeat", "Some outlet"
		c.Likelihood = base.Likelihood * rng.Float64()
		c.LikelihoodText = ""
		c.ReceivedAt = base.ReceivedAt.Add(-time.Duration(rng.Intn(600)) * time.Minute)
		p2 := buildAt(t, append(append([]muster.Report(nil), rs...), c), propT0)
		z2 := p2.ZoneOf(base.ID)
		if z2 == nil || z2.Risk > z.Risk || z2.Confidence > z.Confidence {
			t.Fatalf("trial %d: repeating %s raised zone %s from %.4f/%.4f to %+v", trial, base.Source.ID, z.ID, z.Risk, z.Confidence, z2)
		}
		repeats++
	}
	if repeats < 100 {
		t.Fatalf("only %d trials exercised the property", repeats)
	}
}

func TestPropertyBetterGradedAllClearLowersRisk(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	lowered := 0
	for trial := 0; trial < 200; trial++ {
		rs := randomReports(rng, 1+rng.Intn(30), false)
		// Grade every report below A1 so an A1 all-clear is better.
		for i := range rs {
			if rs[i].Reliability == "A" {
				rs[i].Reliability = "B"
			}
		}
		p := buildAt(t, rs, propT0)
		base, z, ok := counting(rng, p, rs)
		if !ok {
			continue
		}
		c := muster.Report{ID: "all-clear", ReceivedAt: propT0, Source: muster.Source{ID: "police", Kind: muster.SourceOfficial},
			Reliability: "A", Credibility: 1, Kind: muster.KindAllClear, Claim: muster.ClaimAbsent,
			Likelihood: 0.97, LikelihoodText: "almost certain", Immediacy: muster.ImmediacyUnknown, Severity: 1,
			Area: base.Area, RelatesTo: []string{base.ID}}
		p2 := buildAt(t, append(append([]muster.Report(nil), rs...), c), propT0)
		z2 := p2.ZoneOf(base.ID)
		if z2 == nil || !(z2.Risk < z.Risk) {
			t.Fatalf("trial %d: an A1 all-clear did not lower zone %s from %.4f: %+v", trial, z.ID, z.Risk, z2)
		}
		if !z2.Disputed {
			t.Fatalf("trial %d: zone with an all-clear against it is not disputed", trial)
		}
		lowered++
	}
	if lowered < 100 {
		t.Fatalf("only %d trials exercised the property", lowered)
	}
}

func TestPropertyDecayMonotonic(t *testing.T) {
	for _, kind := range muster.ReportKinds {
		prev := 2.0
		end := int(HalfLife[kind].Hours())*FadeHalfLives + 24
		for h := 0; h <= end; h += 3 {
			d := Decay(kind, propT0, propT0.Add(time.Duration(h)*time.Hour))
			if d > prev || d < 0 || d > 1 {
				t.Fatalf("%s: decay %v at %dh after %v", kind, d, h, prev)
			}
			prev = d
		}
		if prev != 0 {
			t.Errorf("%s never fades", kind)
		}
	}
	// Without denials (an all-clear wearing off may rightly raise a risk),
	// the risk at any point never rises as time passes. The reports of a
	// trial are all verified or all unverified: an unverified lead on a
	// verified zone adds no area to it, and stands as a zone of its own
	// once the verified reports have faded, which may rightly raise the
	// risk where only the lead reached.
	rng := rand.New(rand.NewSource(5))
	for trial := 0; trial < 50; trial++ {
		rs := randomReports(rng, 1+rng.Intn(40), false)
		for i := range rs {
			if trial%2 == 0 {
				rs[i].Reliability, rs[i].Credibility = string("ABCD"[rng.Intn(4)]), 1+rng.Intn(4)
			} else if !Unverified(rs[i].Reliability, rs[i].Credibility) {
				rs[i].Credibility = 5 + rng.Intn(2)
			}
		}
		pts := make([]orb.Point, 20)
		for i := range pts {
			a := rs[rng.Intn(len(rs))].Area
			pts[i] = orb.Point{a.Point[0] + (rng.Float64()-0.5)*0.01, a.Point[1] + (rng.Float64()-0.5)*0.01}
		}
		prev := make([]float64, len(pts))
		for i := range prev {
			prev[i] = 2
		}
		for h := 0; h < 24*40; h += 7 {
			p := buildAt(t, rs, propT0.Add(time.Duration(h)*time.Hour))
			for i, pt := range pts {
				r := riskAt(p, pt)
				if r > prev[i]+1e-12 {
					t.Fatalf("trial %d: risk at %v rose from %.4f to %.4f at +%dh", trial, pt, prev[i], r, h)
				}
				prev[i] = r
			}
		}
	}
}

func TestPropertyOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for trial := 0; trial < 30; trial++ {
		rs := randomReports(rng, 1+rng.Intn(80), true)
		// Some all-clears relating to others, to exercise every path.
		for i := range rs {
			if rng.Intn(8) == 0 {
				rs[i].Kind, rs[i].Claim = muster.KindAllClear, muster.ClaimAbsent
				rs[i].RelatesTo = []string{rs[rng.Intn(len(rs))].ID}
				if rs[i].RelatesTo[0] == rs[i].ID {
					rs[i].RelatesTo = nil
				}
			}
		}
		want := geojsonOf(t, buildAt(t, rs, propT0))
		for k := 0; k < 5; k++ {
			rng.Shuffle(len(rs), func(a, b int) { rs[a], rs[b] = rs[b], rs[a] })
			if got := geojsonOf(t, buildAt(t, rs, propT0)); got != want {
				t.Fatalf("trial %d: shuffle changes the picture", trial)
			}
		}
	}
}

// The incremental path gives the same picture as a full rebuild, whatever
// the order and however often the picture is read in between.
func TestIncrementalEqualsRebuild(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 30; trial++ {
		rs := randomReports(rng, 2+rng.Intn(80), true)
		for i := range rs {
			if rng.Intn(8) == 0 {
				rs[i].Kind, rs[i].Claim = muster.KindAllClear, muster.ClaimAbsent
				rs[i].RelatesTo = []string{rs[rng.Intn(len(rs))].ID}
				if rs[i].RelatesTo[0] == rs[i].ID {
					rs[i].RelatesTo = nil
				}
			}
		}
		want := geojsonOf(t, buildAt(t, rs, propT0))
		f, err := NewFuser(nil, propT0, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range rng.Perm(len(rs)) {
			if _, err := f.Add(rs[k]); err != nil {
				t.Fatal(err)
			}
			if rng.Intn(4) == 0 {
				_ = f.Picture()
			}
		}
		if got := geojsonOf(t, f.Picture()); got != want {
			t.Fatalf("trial %d: incremental picture differs from the rebuild", trial)
		}
		if _, err := f.Add(rs[0]); muster.ErrorCode(err) != muster.ECONFLICT {
			t.Fatalf("re-adding %s: %v, want a conflict", rs[0].ID, err)
		}
	}
}
