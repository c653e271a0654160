package threat

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

func refOf(e *evidence) ReportRef {
	r := &e.rep
	src := r.Source.Name
	if src == "" {
		src = r.Source.ID
	}
	lt := r.LikelihoodText
	if lt == "" {
		lt = fmt.Sprintf("%.2f", r.Likelihood)
	}
	return ReportRef{ID: r.ID, Source: src, SourceID: r.Source.ID, Via: r.Source.Via, Grade: r.Grade(),
		Kind: r.Kind, Claim: r.Claim, Likelihood: lt, P: r.Likelihood, Weight: round4(e.weight),
		Counted: true, ReceivedAt: r.ReceivedAt, Text: r.Text}
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// side is one side of a zone (for or against), with one counted report
// per original source.
type side struct {
	refs    []ReportRef
	best    map[string]*evidence // source id -> its counted report
	support float64              // noisy-OR of the counted reports' effective likelihoods
	weight  float64              // noisy-OR of their weights: how much trustworthy evidence there is
	newest  time.Time
}

// better reports whether a should be a source's counted report instead of
// b: the stronger effective likelihood, then the later, then the smaller
// id, so the choice does not depend on arrival order.
func better(a, b *evidence) bool {
	if a.eff != b.eff {
		return a.eff > b.eff
	}
	if !a.rep.ReceivedAt.Equal(b.rep.ReceivedAt) {
		return a.rep.ReceivedAt.After(b.rep.ReceivedAt)
	}
	return a.rep.ID < b.rep.ID
}

func makeSide(evs []*evidence) side {
	s := side{best: map[string]*evidence{}}
	for _, e := range evs {
		if b, ok := s.best[e.rep.Source.ID]; !ok || better(e, b) {
			s.best[e.rep.Source.ID] = e
		}
	}
	srcs := make([]string, 0, len(s.best))
	for id := range s.best {
		srcs = append(srcs, id)
	}
	sort.Strings(srcs)
	notS, notW := 1.0, 1.0
	for _, id := range srcs {
		e := s.best[id]
		notS *= 1 - e.eff
		notW *= 1 - e.weight
		if e.rep.ReceivedAt.After(s.newest) {
			s.newest = e.rep.ReceivedAt
		}
	}
	s.support, s.weight = 1-notS, 1-notW
	for _, e := range evs {
		ref := refOf(e)
		if b := s.best[e.rep.Source.ID]; b != e {
			ref.Counted = false
			ref.Note = fmt.Sprintf("same original source as %s: counted once", b.rep.ID)
		}
		s.refs = append(s.refs, ref)
	}
	return s
}

// fuseZone fuses one cluster (sorted by id) and the all-clears against it.
// The rules, in order:
//   - each original source counts once per side, through its strongest
//     report (relays and repeats add nothing);
//   - a side's support is the noisy-OR of its sources' effective
//     likelihoods (grade weight × decay × likelihood × immediacy factor):
//     independent sources corroborate, in any order;
//   - risk = support for × (1 − support against): a denial lowers the risk
//     in proportion to its own graded, decayed strength, and never removes
//     the reports it contradicts;
//   - the prevailing side is the one with more support (better grades and
//     fresher reports weigh more); on a tie, the one with the newer report;
//   - confidence = the noisy-OR of the prevailing side's weights (how much
//     trustworthy, fresh evidence there is), less half the losing side's
//     share of the total support.
func fuseZone(mem, clears []*evidence, policy Policy, at time.Time) *Zone {
	var pro, con []*evidence
	for _, e := range mem {
		if e.side > 0 {
			pro = append(pro, e)
		} else {
			con = append(con, e)
		}
	}
	if len(pro) == 0 {
		return nil // denials of nothing make no zone
	}
	con = append(con, clears...)
	sort.Slice(con, func(a, b int) bool { return con[a].rep.ID < con[b].rep.ID })
	forSide, againstSide := makeSide(pro), makeSide(con)

	// A zone is named after its oldest report (earliest received, then
	// smallest id), so its id stays the same while newer reports join it
	// and an operator replaying the record can follow it.
	oldest := mem[0]
	for _, e := range mem[1:] {
		if e.rep.ReceivedAt.Before(oldest.rep.ReceivedAt) {
			oldest = e
		}
	}
	z := &Zone{ID: "zone-" + oldest.rep.ID, SupportFor: round4(forSide.support), SupportAgainst: round4(againstSide.support)}
	z.Risk = round4(forSide.support * (1 - againstSide.support))
	z.Disputed = len(con) > 0
	win, lose := forSide, againstSide
	z.Prevailing = muster.ClaimPresent
	if againstSide.support > forSide.support ||
		(againstSide.support == forSide.support && againstSide.newest.After(forSide.newest)) {
		win, lose = againstSide, forSide
		z.Prevailing = muster.ClaimAbsent
	}
	conf := win.weight
	if total := win.support + lose.support; total > 0 {
		conf *= 1 - 0.5*lose.support/total
	}
	z.Confidence = round4(conf)
	z.For, z.Against = forSide.refs, againstSide.refs

	kinds, actors, placesNamed := map[string]bool{}, map[string]bool{}, []string{}
	seenPlace := map[string]bool{}
	for _, e := range pro {
		kinds[e.rep.Kind] = true
		if e.rep.Actor != "" {
			actors[e.rep.Actor] = true
		}
		z.Severity = max(z.Severity, e.rep.Severity)
		if p := e.rep.Area.Place; p != "" && !seenPlace[p] {
			seenPlace[p] = true
			placesNamed = append(placesNamed, p)
		}
	}
	z.Kinds, z.Actors = keys(kinds), keys(actors)
	z.Level = LevelOf(z.Risk, z.Severity)

	// Geometry: the distinct areas of the reports for it.
	for _, e := range pro {
		for _, s := range e.reg.shapes {
			dup := false
			for _, t := range z.shapes {
				if sameShape(s, t) {
					dup = true
					break
				}
			}
			if !dup {
				z.shapes = append(z.shapes, s)
				z.AreaKm2 += s.areaM2 / 1e6
			}
		}
	}
	z.AreaKm2 = math.Round(z.AreaKm2*1000) / 1000
	if len(z.shapes) == 1 && z.shapes[0].circle {
		z.Center, z.RadiusM = z.shapes[0].center, z.shapes[0].radius
	} else {
		for _, s := range z.shapes {
			if s.circle {
				z.Polygon = append(z.Polygon, circlePolygon(s.center, s.radius))
			} else {
				z.Polygon = append(z.Polygon, s.poly)
			}
		}
	}
	z.Name = zoneName(z, placesNamed)
	applyPolicy(z, pro, policy)
	z.pro, z.con, z.at = forSide, againstSide, at
	return z
}

func sameShape(a, b shape) bool {
	if a.circle != b.circle {
		return false
	}
	if a.circle {
		return a.center == b.center && a.radius == b.radius
	}
	return orb.Equal(a.poly, b.poly)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func zoneName(z *Zone, placesNamed []string) string {
	what := strings.Join(z.Kinds, "/")
	if len(z.Actors) > 0 {
		what = strings.Join(z.Actors, ", ") + " " + what
	}
	if len(placesNamed) > 0 {
		return what + " at " + strings.Join(placesNamed, ", ")
	}
	if z.RadiusM > 0 {
		return fmt.Sprintf("%s within %s of %.4f, %.4f", what, distance(z.RadiusM), z.Center[0], z.Center[1])
	}
	c := z.Polygon.Bound().Center()
	return fmt.Sprintf("%s in an area of %.2f km² near %.4f, %.4f", what, z.AreaKm2, c[0], c[1])
}

func distance(m float64) string {
	if m >= 1000 {
		return fmt.Sprintf("%g km", math.Round(m/100)/10)
	}
	return fmt.Sprintf("%g m", math.Round(m))
}

// applyPolicy gives the zone its routing verdict.
func applyPolicy(z *Zone, pro []*evidence, p Policy) {
	z.Penalty = p.Penalty[z.Level]
	if z.Penalty < 1 {
		z.Penalty = 1
	}
	if z.AreaKm2 > p.MaxForbiddenAreaKm2 {
		// A zone the size of a province or a country lies over every route
		// of the operation alike: a cost factor would change no route
		// choice, only inflate every travel time. It is context.
		z.Penalty = 1
		z.PolicyVerdict = fmt.Sprintf("context only: at %.0f km² it is larger than the %g km² the policy ever forbids or penalises (it would weigh on every route alike)",
			z.AreaKm2, p.MaxForbiddenAreaKm2)
		return
	}
	if !p.forbids(z.Level) {
		z.PolicyVerdict = fmt.Sprintf("not forbidden: level %s is not forbidden by the policy; crossing costs ×%g", z.Level, z.Penalty)
		return
	}
	if z.AreaKm2 > p.LargeAreaKm2 {
		var good []string
		for _, e := range pro {
			if atLeast(e.rep.Reliability, e.rep.Credibility, p.WellGraded) {
				good = append(good, e.rep.ID+" "+e.rep.Grade())
			}
		}
		if len(good) == 0 {
			z.PolicyVerdict = fmt.Sprintf("not forbidden: at %.0f km² it is larger than %g km² and no report for it is graded %s or better; crossing costs ×%g",
				z.AreaKm2, p.LargeAreaKm2, p.WellGraded, z.Penalty)
			return
		}
		z.Forbidden = true
		z.PolicyVerdict = fmt.Sprintf("forbidden: level %s, and although larger than %g km² it rests on well-graded reporting (%s)",
			z.Level, p.LargeAreaKm2, strings.Join(good, ", "))
		return
	}
	z.Forbidden = true
	z.PolicyVerdict = fmt.Sprintf("forbidden: level %s is forbidden by the policy", z.Level)
}

func describeRef(r ReportRef, e *evidence, at time.Time) string {
	who := r.Source
	if r.Via != "" {
		who += " via " + r.Via
	}
	s := fmt.Sprintf("%s (%s, %s) says %s %q", who, r.ID, r.Grade, r.Claim, r.Likelihood)
	if e != nil && e.decay < 0.995 {
		s += fmt.Sprintf(", now weighing %.0f%% after %s", 100*e.decay, age(at.Sub(e.rep.Start())))
	}
	return s
}

func age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.0f days", d.Hours()/24)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%.0f hours", d.Hours())
	}
	return fmt.Sprintf("%.0f minutes", d.Minutes())
}

func describeSide(s side, at time.Time) string {
	var parts []string
	for _, r := range s.refs {
		if r.Counted {
			parts = append(parts, describeRef(r, s.best[r.SourceID], at))
		}
	}
	out := strings.Join(parts, "; ")
	for _, r := range s.refs {
		if !r.Counted {
			out += fmt.Sprintf("; %s (%s) adds nothing: %s", r.ID, r.Grade, r.Note)
		}
	}
	return out
}

// Explain returns the zone's plain-language paragraph, written from its
// reports: what the danger is, who says so and how strongly, who denies
// it, which side prevails and why, and the policy's verdict. It is
// written on demand, as a batch of thousands of zones seldom needs it.
func (z *Zone) Explain() string {
	z.explainOnce.Do(func() { z.explanation = explain(z, z.pro, z.con, z.at) })
	return z.explanation
}

func explain(z *Zone, pro, con side, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Level %s: %.0f%% risk of %s (severity %d of 5), confidence %.0f%%. ",
		z.Level, 100*z.Risk, z.Name, z.Severity, 100*z.Confidence)
	n := len(pro.best)
	srcWord := "independent sources"
	if n == 1 {
		srcWord = "source"
	}
	fmt.Fprintf(&b, "For it, %d %s: %s. ", n, srcWord, describeSide(pro, at))
	if len(con.refs) > 0 {
		winner := "the reports for it prevail"
		if z.Prevailing == muster.ClaimAbsent {
			winner = "the denials prevail"
		}
		fmt.Fprintf(&b, "Disputed: against it, %s. By grade and freshness %s (support %.2f against %.2f); the other side is kept and ",
			describeSide(con, at), winner, z.SupportFor, z.SupportAgainst)
		if z.Prevailing == muster.ClaimAbsent {
			b.WriteString("still holds the risk above zero. ")
		} else {
			fmt.Fprintf(&b, "lowers the risk from %.0f%% to %.0f%%. ", 100*z.SupportFor, 100*z.Risk)
		}
	}
	b.WriteString(strings.ToUpper(z.PolicyVerdict[:1]) + z.PolicyVerdict[1:] + ".")
	return b.String()
}

// gateStatuses gives every gate of the places file its status: the places
// file's, overridden by the prevailing gate-status reports, then made
// stricter by the zones the gate lies in (closed inside a forbidden zone,
// restricted inside any other zone at moderate or above, or a crowd);
// zones larger than the policy's LargeAreaKm2 do not count.
func (f *Fuser) gateStatuses(zones []*Zone) []GateStatus {
	if f.places == nil {
		return nil
	}
	rank := map[string]int{muster.GateOpen: 0, muster.GateRestricted: 1, muster.GateClosed: 2}
	var out []GateStatus
	for _, pl := range f.places.Places().Places {
		if pl.Kind != muster.PlaceGate {
			continue
		}
		g := GateStatus{PlaceID: pl.ID, Name: pl.Name, Status: pl.Status}
		if g.Status == "" {
			g.Status = muster.GateOpen
		}
		g.Reasons = append(g.Reasons, "places file: "+g.Status)
		var evs []*evidence
		for _, e := range f.gateEv {
			for _, id := range e.reg.places {
				if id == pl.ID {
					evs = append(evs, e)
					break
				}
			}
		}
		sort.Slice(evs, func(a, b int) bool { return evs[a].rep.ID < evs[b].rep.ID })
		if len(evs) > 0 {
			byClaim := map[string][]*evidence{}
			for _, e := range evs {
				byClaim[e.rep.Claim] = append(byClaim[e.rep.Claim], e)
				g.Reports = append(g.Reports, refOf(e))
			}
			best, bestSide := "", side{}
			sides := map[string]side{}
			for _, claim := range []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed} {
				if len(byClaim[claim]) == 0 {
					continue
				}
				s := makeSide(byClaim[claim])
				sides[claim] = s
				if best == "" || s.support > bestSide.support || (s.support == bestSide.support && s.newest.After(bestSide.newest)) {
					best, bestSide = claim, s
				}
			}
			g.Disputed = len(byClaim) > 1
			g.Status = best
			for _, claim := range []string{best, muster.GateOpen, muster.GateRestricted, muster.GateClosed} {
				s, ok := sides[claim]
				if !ok || (claim == best && len(g.Reasons) > 1) {
					continue
				}
				label := claim
				if claim != best {
					label = fmt.Sprintf("%s (outweighed: support %.2f against %.2f)", claim, s.support, bestSide.support)
				}
				for _, r := range s.refs {
					g.Reasons = append(g.Reasons, fmt.Sprintf("%s: %s", label, describeRef(r, s.best[r.SourceID], f.at)))
				}
			}
		}
		at, _ := pl.Point()
		for _, z := range zones {
			// Only local zones bear on a gate: a city- or country-wide
			// warning is context, and the routing penalty covers it.
			if z.AreaKm2 > f.policy.LargeAreaKm2 || !z.Contains(at) {
				continue
			}
			want := ""
			switch {
			case z.Forbidden:
				want = muster.GateClosed
			case levelRank(z.Level) >= levelRank(LevelModerate):
				want = muster.GateRestricted
			case contains(z.Kinds, muster.KindCrowd):
				want = muster.GateRestricted
			default:
				continue
			}
			g.Reasons = append(g.Reasons, fmt.Sprintf("%s: inside %s (%s, level %s, risk %.2f)", want, z.ID, z.Name, z.Level, z.Risk))
			if rank[want] > rank[g.Status] {
				g.Status = want
			}
		}
		out = append(out, g)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
