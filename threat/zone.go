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
	ref := ReportRef{ID: r.ID, Source: src, SourceID: r.Source.ID, Via: r.Source.Via, Grade: gradeName(e.rel, r.Credibility),
		Kind: r.Kind, Claim: r.Claim, Likelihood: lt, P: r.Likelihood, Weight: round4(e.weight),
		Counted: true, Unverified: e.unverified, ReceivedAt: r.ReceivedAt, Text: r.Text}
	if ref.Grade != gradeName(r.Reliability, r.Credibility) {
		ref.ReportedGrade = gradeName(r.Reliability, r.Credibility)
	}
	return ref
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// side is one side of a zone (for or against). Verified reports count
// once per original source (or registry cluster), through the strongest;
// unverified reports count together as one weak source, through the
// strongest of them, however many there are and whoever sent them.
type side struct {
	refs []ReportRef
	evs  []*evidence
	best map[string]*evidence // verified: source key -> its counted report
	pool *evidence            // the unverified report that counts for them all
	// poolN and poolKeys: how many unverified reports, from how many
	// sources, the pool stands for.
	poolN, poolKeys int
	// poolWeight is the largest weight in the pool: like its support (the
	// largest effective likelihood), it never falls as reports are added.
	poolWeight float64
	blocked    int // weaker denials not weighed against a confirmed report
	// vsupport, vweight: noisy-OR over the verified sources only;
	// support, weight: with the pool as one more source.
	vsupport, vweight float64
	support, weight   float64
	newest, vnewest   time.Time
	confirmed         *evidence // the strongest confirmed report, if any
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

// makeSide weighs one side's reports (sorted by id). If answering is a
// confirmed report on the other side, only confirmed reports are weighed
// here: the others are listed, not counted.
func makeSide(evs []*evidence, answering *evidence) side {
	s := side{best: map[string]*evidence{}, evs: evs}
	keys := map[string]bool{}
	weighed := func(e *evidence) bool { return answering == nil || e.confirmed }
	for _, e := range evs {
		if !weighed(e) {
			s.blocked++
			continue
		}
		if e.unverified {
			s.poolN++
			s.poolWeight = math.Max(s.poolWeight, e.weight)
			keys[e.key] = true
			if s.pool == nil || better(e, s.pool) {
				s.pool = e
			}
			continue
		}
		if b, ok := s.best[e.key]; !ok || better(e, b) {
			s.best[e.key] = e
		}
		if e.confirmed && (s.confirmed == nil || better(e, s.confirmed)) {
			s.confirmed = e
		}
	}
	s.poolKeys = len(keys)
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
		if e.rep.ReceivedAt.After(s.vnewest) {
			s.vnewest = e.rep.ReceivedAt
		}
	}
	s.vsupport, s.vweight = 1-notS, 1-notW
	s.newest = s.vnewest
	if p := s.pool; p != nil {
		notS *= 1 - p.eff
		notW *= 1 - s.poolWeight
		if p.rep.ReceivedAt.After(s.newest) {
			s.newest = p.rep.ReceivedAt
		}
	}
	s.support, s.weight = 1-notS, 1-notW
	for _, e := range evs {
		ref := refOf(e)
		var notes []string
		switch {
		case !weighed(e):
			ref.Counted = false
			notes = append(notes, fmt.Sprintf("not weighed: %s (%s%d) is confirmed, and a confirmed report is answered only by evidence graded A or B and 1 or 2",
				answering.rep.ID, answering.rel, answering.rep.Credibility))
		case e.unverified && s.pool != e:
			ref.Counted = false
			notes = append(notes, fmt.Sprintf("unverified: the %d unverified reports on this side count as one weak source, through %s", s.poolN, s.pool.rep.ID))
		case e.unverified && s.poolN > 1:
			notes = append(notes, fmt.Sprintf("unverified: counts as one weak source for the %d unverified reports (%d sources) on this side", s.poolN, s.poolKeys))
		case e.unverified:
			notes = append(notes, "unverified: a weak source, a lead to verify")
		case s.best[e.key] != e:
			ref.Counted = false
			notes = append(notes, fmt.Sprintf("same original source as %s: counted once", s.best[e.key].rep.ID))
		}
		if e.regraded != "" {
			notes = append(notes, e.regraded)
		}
		ref.Note = strings.Join(notes, "; ")
		s.refs = append(s.refs, ref)
	}
	return s
}

// fuseZone fuses one cluster's reports of one tier (mem, sorted by id),
// its leads and the all-clears against it. The rules, in order:
//   - each original source counts once per side, through its strongest
//     report (relays and repeats add nothing); the unverified reports on a
//     side count together as one weak source;
//   - a side's support is the noisy-OR of its sources' effective
//     likelihoods (grade weight × decay × likelihood × immediacy factor):
//     independent sources corroborate, in any order;
//   - against a side with a confirmed report, only confirmed reports
//     weigh: the others are shown and mark the zone disputed;
//   - risk = support for × (1 − support against);
//   - what moves people is decided on the verified reports alone: the
//     verified risk and level decide whether the zone is forbidden and what
//     it does to gates, and the prevailing side and the confidence are
//     read off the verified reports; a zone with no verified report for it
//     is never forbidden, never bears on a gate, and shows at most
//     UnverifiedCeiling confidence.
func fuseZone(mem, leads, clears []*evidence, unverifiedTier bool, ctx *fuseContext) *Zone {
	var proMembers, pro, con []*evidence
	for _, e := range mem {
		if e.side > 0 {
			proMembers = append(proMembers, e)
		}
	}
	if len(proMembers) == 0 {
		return nil // denials of nothing make no zone
	}
	for _, list := range [][]*evidence{mem, leads} {
		for _, e := range list {
			if e.side > 0 {
				pro = append(pro, e)
			} else {
				con = append(con, e)
			}
		}
	}
	con = append(con, clears...)
	sort.Slice(pro, func(a, b int) bool { return pro[a].rep.ID < pro[b].rep.ID })
	sort.Slice(con, func(a, b int) bool { return con[a].rep.ID < con[b].rep.ID })
	forSide := makeSide(pro, nil)
	var answering *evidence
	if !unverifiedTier {
		answering = forSide.confirmed
	}
	againstSide := makeSide(con, answering)

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
	z.Unverified = unverifiedTier
	// The prevailing side and the confidence are read off the verified
	// reports; the unverified pools may add confidence only up to
	// UnverifiedCeiling (a zone resting on them alone shows no more).
	prevail := func(fs, fw, as, aw float64, fnew, anew time.Time) (string, float64) {
		claim, winS, loseS, winW := muster.ClaimPresent, fs, as, fw
		if as > fs || (as == fs && anew.After(fnew)) {
			claim, winS, loseS, winW = muster.ClaimAbsent, as, fs, aw
		}
		conf := winW
		if total := winS + loseS; total > 0 {
			conf *= 1 - 0.5*loseS/total
		}
		return claim, conf
	}
	claimAll, confAll := prevail(forSide.support, forSide.weight, againstSide.support, againstSide.weight, forSide.newest, againstSide.newest)
	z.Prevailing = claimAll
	conf := math.Min(confAll, UnverifiedCeiling)
	if !unverifiedTier {
		z.VerifiedRisk = round4(forSide.vsupport * (1 - againstSide.vsupport))
		claimV, confV := prevail(forSide.vsupport, forSide.vweight, againstSide.vsupport, againstSide.vweight, forSide.vnewest, againstSide.vnewest)
		z.Prevailing, conf = claimV, math.Max(confV, conf)
	}
	z.Confidence = round4(conf)
	z.For, z.Against = forSide.refs, againstSide.refs
	for _, list := range [][]*evidence{leads, clears} {
		for _, e := range list {
			z.refIDs = append(z.refIDs, e.rep.ID)
		}
	}

	kinds, actors, placesNamed := map[string]bool{}, map[string]bool{}, []string{}
	seenPlace := map[string]bool{}
	for _, e := range proMembers {
		kinds[e.rep.Kind] = true
		if e.rep.Actor != "" {
			actors[e.rep.Actor] = true
		}
		z.Severity = max(z.Severity, e.rep.Severity)
		if p := e.reg.label; p != "" && !seenPlace[p] {
			seenPlace[p] = true
			placesNamed = append(placesNamed, p)
		}
	}
	z.Kinds, z.Actors = keys(kinds), keys(actors)
	z.Level = LevelOf(z.Risk, z.Severity)
	if !unverifiedTier {
		z.VerifiedLevel = LevelOf(z.VerifiedRisk, z.Severity)
	}

	// Geometry: the distinct areas of the reports for it (leads add none:
	// an unverified report never moves a zone's edge).
	for _, e := range proMembers {
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
	applyPolicy(z, proMembers, forSide, ctx.policy)
	z.Coordination = append(detectCoordination(forSide.evs, "for", ctx), detectCoordination(againstSide.evs, "against", ctx)...)
	z.pro, z.con, z.at = forSide, againstSide, ctx.at
	z.verify = zoneToVerify(z)
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

// applyPolicy gives the zone its routing verdict. The penalty follows the
// zone's level; whether it is forbidden follows its verified level, so
// that unverified reports can neither forbid a zone nor lift one.
func applyPolicy(z *Zone, pro []*evidence, forSide side, p Policy) {
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
	if z.Unverified {
		z.PolicyVerdict = fmt.Sprintf("not forbidden: it rests only on unverified reports (%d, from %d sources, counted as one weak source): a lead to verify, never grounds to forbid a zone or close a gate; crossing costs ×%g",
			forSide.poolN, forSide.poolKeys, z.Penalty)
		return
	}
	if !p.forbids(z.VerifiedLevel) {
		if p.forbids(z.Level) {
			z.PolicyVerdict = fmt.Sprintf("not forbidden: the verified reports alone make it %s; unverified reports raise it to %s, and unverified reports never forbid; crossing costs ×%g",
				z.VerifiedLevel, z.Level, z.Penalty)
			return
		}
		z.PolicyVerdict = fmt.Sprintf("not forbidden: level %s is not forbidden by the policy; crossing costs ×%g", z.Level, z.Penalty)
		return
	}
	lifted := ""
	if !p.forbids(z.Level) {
		lifted = fmt.Sprintf("; unverified reports against it would lower it to %s, but unverified reports never lift a forbidden zone", z.Level)
	}
	if z.AreaKm2 > p.LargeAreaKm2 {
		var good []string
		for _, e := range pro {
			if atLeast(e.rel, e.rep.Credibility, p.WellGraded) {
				good = append(good, fmt.Sprintf("%s %s%d", e.rep.ID, e.rel, e.rep.Credibility))
			}
		}
		if len(good) == 0 {
			z.PolicyVerdict = fmt.Sprintf("not forbidden: at %.0f km² it is larger than %g km² and no report for it is graded %s or better; crossing costs ×%g",
				z.AreaKm2, p.LargeAreaKm2, p.WellGraded, z.Penalty)
			return
		}
		z.Forbidden = true
		z.PolicyVerdict = fmt.Sprintf("forbidden: level %s, and although larger than %g km² it rests on well-graded reporting (%s)%s",
			z.VerifiedLevel, p.LargeAreaKm2, strings.Join(good, ", "), lifted)
		return
	}
	z.Forbidden = true
	z.PolicyVerdict = fmt.Sprintf("forbidden: level %s is forbidden by the policy%s", z.VerifiedLevel, lifted)
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
		if r.Counted && !r.Unverified {
			parts = append(parts, describeRef(r, s.best[keyOf(s, r.ID)], at))
		}
	}
	if s.pool != nil {
		d := describeRef(refOf(s.pool), s.pool, at)
		if s.poolN > 1 {
			parts = append(parts, fmt.Sprintf("%d unverified reports from %d sources, counted together as one weak source through %s", s.poolN, s.poolKeys, d))
		} else {
			parts = append(parts, "unverified: "+d)
		}
	}
	out := strings.Join(parts, "; ")
	for _, r := range s.refs {
		if !r.Counted && !r.Unverified && !strings.HasPrefix(r.Note, "not weighed") {
			out += fmt.Sprintf("; %s (%s) adds nothing: %s", r.ID, r.Grade, r.Note)
		}
	}
	var blocked []string
	for i, r := range s.refs {
		if strings.HasPrefix(r.Note, "not weighed") {
			blocked = append(blocked, describeRef(r, s.evs[i], at))
		}
	}
	if len(blocked) > 0 {
		if out != "" {
			out += "; "
		}
		out += "not weighed, as a confirmed report is answered only by confirmed evidence: " + strings.Join(blocked, "; ")
	}
	return out
}

// keyOf returns the source key of the side's report id.
func keyOf(s side, id string) string {
	for _, e := range s.evs {
		if e.rep.ID == id {
			return e.key
		}
	}
	return ""
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
	if pro.pool != nil {
		n++
	}
	srcWord := "independent sources"
	if n == 1 {
		srcWord = "source"
	}
	fmt.Fprintf(&b, "For it, %d %s: %s. ", n, srcWord, describeSide(pro, at))
	if z.Unverified {
		b.WriteString("Unverified: no report for it is graded better than E/F or 5/6; verify before acting on it. ")
	}
	if len(con.refs) > 0 {
		winner := "the reports for it prevail"
		if z.Prevailing == muster.ClaimAbsent {
			winner = "the denials prevail"
		}
		fmt.Fprintf(&b, "Disputed: against it, %s. By grade and freshness %s (support %.2f against %.2f); the other side is kept and ",
			describeSide(con, at), winner, z.SupportFor, z.SupportAgainst)
		switch {
		case z.Prevailing == muster.ClaimAbsent:
			b.WriteString("still holds the risk above zero. ")
		case z.SupportAgainst == 0:
			b.WriteString("leaves the risk as it was until evidence of comparable grade answers it. ")
		default:
			fmt.Fprintf(&b, "lowers the risk from %.0f%% to %.0f%%. ", 100*z.SupportFor, 100*z.Risk)
		}
	}
	b.WriteString(strings.ToUpper(z.PolicyVerdict[:1]) + z.PolicyVerdict[1:] + ".")
	for _, c := range z.Coordination {
		fmt.Fprintf(&b, " Possible coordinated reporting %s it: %s; verify before acting on it.", c.Side, c.Summary)
	}
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
		// Only verified reports set a gate's status; unverified claims are
		// shown as leads. Against a claim that a confirmed report makes,
		// only confirmed reports weigh.
		var verified []*evidence
		for _, e := range evs {
			g.Reports = append(g.Reports, refOf(e))
			if e.unverified {
				g.Reasons = append(g.Reasons, fmt.Sprintf("not applied: unverified claim %s: %s (a lead to verify: unverified reports never open, restrict or close a gate)",
					e.rep.Claim, describeRef(refOf(e), e, f.at)))
				continue
			}
			verified = append(verified, e)
		}
		anyConfirmed := false
		for _, e := range verified {
			anyConfirmed = anyConfirmed || e.confirmed
		}
		if anyConfirmed {
			var kept []*evidence
			for _, e := range verified {
				if e.confirmed {
					kept = append(kept, e)
					continue
				}
				g.Reasons = append(g.Reasons, fmt.Sprintf("not weighed: %s: %s (a confirmed report is answered only by confirmed evidence)",
					e.rep.Claim, describeRef(refOf(e), e, f.at)))
			}
			verified = kept
		}
		g.Coordination = detectCoordination(evs, "status", f.fuseContext())
		if len(verified) > 0 {
			byClaim := map[string][]*evidence{}
			for _, e := range verified {
				byClaim[e.rep.Claim] = append(byClaim[e.rep.Claim], e)
			}
			best, bestSide := "", side{}
			sides := map[string]side{}
			for _, claim := range []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed} {
				if len(byClaim[claim]) == 0 {
					continue
				}
				s := makeSide(byClaim[claim], nil)
				sides[claim] = s
				if best == "" || s.support > bestSide.support || (s.support == bestSide.support && s.newest.After(bestSide.newest)) {
					best, bestSide = claim, s
				}
			}
			g.Status = best
			order := []string{best}
			for _, c := range []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed} {
				if c != best {
					order = append(order, c)
				}
			}
			for _, claim := range order {
				s, ok := sides[claim]
				if !ok {
					continue
				}
				label := claim
				if claim != best {
					label = fmt.Sprintf("%s (outweighed: support %.2f against %.2f)", claim, s.support, bestSide.support)
				}
				for _, r := range s.refs {
					g.Reasons = append(g.Reasons, fmt.Sprintf("%s: %s", label, describeRef(r, s.best[keyOf(s, r.ID)], f.at)))
				}
			}
		}
		claims := map[string]bool{}
		for _, e := range evs {
			claims[e.rep.Claim] = true
		}
		g.Disputed = len(claims) > 1
		at, _ := pl.Point()
		for _, z := range zones {
			// Only local zones bear on a gate: a city- or country-wide
			// warning is context, and the routing penalty covers it.
			// Nor do zones resting on unverified reports: leads to verify.
			if z.Unverified || z.AreaKm2 > f.policy.LargeAreaKm2 || !z.Contains(at) {
				continue
			}
			want := ""
			switch {
			case z.Forbidden:
				want = muster.GateClosed
			case levelRank(z.VerifiedLevel) >= levelRank(LevelModerate):
				want = muster.GateRestricted
			case contains(z.Kinds, muster.KindCrowd):
				want = muster.GateRestricted
			default:
				continue
			}
			g.Reasons = append(g.Reasons, fmt.Sprintf("%s: inside %s (%s, level %s, risk %.2f)", want, z.ID, z.Name, z.VerifiedLevel, z.VerifiedRisk))
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
