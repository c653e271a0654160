package threat

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Coordination flags possible coordinated reporting on one side of a zone
// (or on a gate's status): many sources within CoordinationWindow that
// were never heard from before, or that sent near-identical text. Throwaway
// identities are free, so a burst of them is itself a signal: a lead for
// an analyst to verify, never evidence.
type Coordination struct {
	Side          string   `json:"side"` // "for", "against" or "status"
	Reports       []string `json:"reports"`
	Sources       int      `json:"sources"`
	NewSources    int      `json:"new_sources"`
	SpanMinutes   int      `json:"span_min"`
	DistinctTexts int      `json:"distinct_texts"`
	// Summary reads "40 new sources in 40 min, 1 distinct text".
	Summary string `json:"summary"`
}

// ToVerify is something the picture asks an analyst to verify.
type ToVerify struct {
	Zone    string   `json:"zone,omitempty"`
	Gate    string   `json:"gate,omitempty"`
	Why     string   `json:"why"`
	Reports []string `json:"reports"`
}

type coordItem struct {
	e   *evidence
	key string
	at  time.Time
}

// detectCoordination looks for a burst on one side. Of the two signs, new
// sources and near-identical text, the burst with more sources is
// reported; at most one flag per side.
func detectCoordination(evs []*evidence, sideName string, ctx *fuseContext) []Coordination {
	if len(evs) < CoordinationMinSources {
		return nil
	}
	items := make([]coordItem, len(evs))
	for i, e := range evs {
		items[i] = coordItem{e: e, key: e.key, at: e.rep.ReceivedAt}
	}
	sort.Slice(items, func(a, b int) bool {
		if !items[a].at.Equal(items[b].at) {
			return items[a].at.Before(items[b].at)
		}
		return items[a].e.rep.ID < items[b].e.rep.ID
	})
	isNew := func(key string, windowStart time.Time) bool {
		if _, known := ctx.sources[strings.TrimPrefix(key, "cluster:")]; known {
			return false
		}
		first, ok := ctx.sourceFirst[key]
		return ok && !first.Before(windowStart)
	}

	// New sources: key k counts for a window starting at t iff it was first
	// heard from at or after t (first_k >= t) and has a report on this side
	// by t+W (m_k <= t+W): t in [m_k - W, first_k]. The best t is where
	// most of these intervals overlap.
	type span struct{ from, to time.Time }
	firstOnSide := map[string]time.Time{}
	for _, it := range items {
		if _, ok := firstOnSide[it.key]; !ok {
			firstOnSide[it.key] = it.at
		}
	}
	var spans []span
	for k, m := range firstOnSide {
		if _, known := ctx.sources[strings.TrimPrefix(k, "cluster:")]; known {
			continue
		}
		first, ok := ctx.sourceFirst[k]
		if !ok {
			continue
		}
		from := m.Add(-CoordinationWindow)
		if first.Before(from) {
			continue
		}
		spans = append(spans, span{from, first})
	}
	bestNew, bestT := 0, time.Time{}
	if len(spans) >= CoordinationMinSources {
		type ev struct {
			t     time.Time
			delta int
		}
		evts := make([]ev, 0, 2*len(spans))
		for _, s := range spans {
			evts = append(evts, ev{s.from, +1}, ev{s.to, -1})
		}
		// Starts before ends at one instant: the intervals are closed.
		sort.Slice(evts, func(a, b int) bool {
			if !evts[a].t.Equal(evts[b].t) {
				return evts[a].t.Before(evts[b].t)
			}
			return evts[a].delta > evts[b].delta
		})
		n := 0
		for _, x := range evts {
			n += x.delta
			if n > bestNew {
				bestNew, bestT = n, x.t
			}
		}
	}
	var chosen []coordItem
	if bestNew >= CoordinationMinSources {
		end := bestT.Add(CoordinationWindow)
		for _, it := range items {
			if !it.at.Before(bestT) && !it.at.After(end) && isNew(it.key, bestT) {
				chosen = append(chosen, it)
			}
		}
	}

	// Near-identical text from many sources within the window, new or not.
	texts := clusterTexts(items)
	byCluster := map[int][]coordItem{}
	for i, it := range items {
		byCluster[texts[i]] = append(byCluster[texts[i]], it)
	}
	for _, c := range sortedClusterIDs(byCluster) {
		group := byCluster[c]
		if len(group) < CoordinationMinSources {
			continue
		}
		if w := densestWindow(group); distinctKeys(w) >= CoordinationMinSources && distinctKeys(w) > distinctKeys(chosen) {
			chosen = w
		}
	}
	if distinctKeys(chosen) < CoordinationMinSources {
		return nil
	}
	c := Coordination{Side: sideName, Sources: distinctKeys(chosen)}
	newKeys := map[string]bool{}
	for _, it := range chosen {
		c.Reports = append(c.Reports, it.e.rep.ID)
		if isNew(it.key, chosen[0].at) {
			newKeys[it.key] = true
		}
	}
	sort.Strings(c.Reports)
	c.NewSources = len(newKeys)
	c.SpanMinutes = int(chosen[len(chosen)-1].at.Sub(chosen[0].at).Round(time.Minute) / time.Minute)
	c.DistinctTexts = len(distinctInts(clusterTexts(chosen)))
	who := fmt.Sprintf("%d sources", c.Sources)
	if c.NewSources == c.Sources {
		who = fmt.Sprintf("%d new sources", c.Sources)
	} else if c.NewSources > 0 {
		who = fmt.Sprintf("%d sources (%d new)", c.Sources, c.NewSources)
	}
	textWord := "distinct texts"
	if c.DistinctTexts == 1 {
		textWord = "distinct text"
	}
	c.Summary = fmt.Sprintf("%s in %d min, %d %s", who, c.SpanMinutes, c.DistinctTexts, textWord)
	return []Coordination{c}
}

// densestWindow returns the items (sorted by time) of the window of
// CoordinationWindow holding the most distinct sources.
func densestWindow(items []coordItem) []coordItem {
	var best []coordItem
	bestN := 0
	count := map[string]int{}
	j := 0
	for i := range items {
		for j < len(items) && !items[j].at.After(items[i].at.Add(CoordinationWindow)) {
			count[items[j].key]++
			j++
		}
		if len(count) > bestN {
			bestN = len(count)
			best = items[i:j]
		}
		if count[items[i].key]--; count[items[i].key] == 0 {
			delete(count, items[i].key)
		}
	}
	return best
}

func distinctKeys(items []coordItem) int {
	m := map[string]bool{}
	for _, it := range items {
		m[it.key] = true
	}
	return len(m)
}

func distinctInts(xs []int) map[int]bool {
	m := map[int]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func sortedClusterIDs(m map[int][]coordItem) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// maxTextReps bounds the texts a new text is compared with, so a flood of
// ten thousand different texts costs no more than linear time.
const maxTextReps = 256

// clusterTexts gives each item the index of its text's cluster: texts
// whose word sets have a Jaccard similarity of NearIdenticalText or more
// are one text ("Abbey Gate is open and safe, everyone go now" and "abbey
// gate open and SAFE - everyone go now!!"). Items are taken in the order
// given, so the result does not depend on arrival order when the caller's
// order does not.
func clusterTexts(items []coordItem) []int {
	out := make([]int, len(items))
	var reps []map[string]bool
	exact := map[string]int{}
	for i, it := range items {
		if it.e.words == nil {
			it.e.words = wordSet(it.e.rep.Text)
			it.e.textSig = signature(it.e.words)
		}
		words, sig := it.e.words, it.e.textSig
		if c, ok := exact[sig]; ok {
			out[i] = c
			continue
		}
		c := -1
		for r, rep := range reps {
			if r >= maxTextReps {
				break
			}
			if jaccard(words, rep) >= NearIdenticalText {
				c = r
				break
			}
		}
		if c < 0 {
			c = len(reps)
			reps = append(reps, words)
		}
		exact[sig] = c
		out[i] = c
	}
	return out
}

func wordSet(text string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		m[w] = true
	}
	return m
}

func signature(words map[string]bool) string {
	ws := make([]string, 0, len(words))
	for w := range words {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	return strings.Join(ws, " ")
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// toVerify lists what the picture asks an analyst to verify: bursts of
// possibly coordinated reporting, zones at moderate or above that rest only
// on unverified reports (they change routing costs), and confirmed reports
// that weaker evidence disputes. Each zone's part is written when the zone
// is fused, so a picture only gathers them.
func toVerify(zones []*Zone, gates []GateStatus) []ToVerify {
	var out []ToVerify
	for _, z := range zones {
		out = append(out, z.verify...)
	}
	for _, g := range gates {
		for _, c := range g.Coordination {
			out = append(out, ToVerify{Gate: g.PlaceID, Why: "possible coordinated reporting on its status: " + c.Summary, Reports: c.Reports})
		}
	}
	return out
}

// zoneToVerify is the zone's part of the picture's list to verify.
func zoneToVerify(z *Zone) []ToVerify {
	var out []ToVerify
	for _, c := range z.Coordination {
		out = append(out, ToVerify{Zone: z.ID, Why: fmt.Sprintf("possible coordinated reporting %s it: %s", c.Side, c.Summary), Reports: c.Reports})
	}
	if z.Unverified && levelRank(z.Level) >= levelRank(LevelModerate) {
		var ids []string
		for _, r := range z.For {
			ids = append(ids, r.ID)
		}
		out = append(out, ToVerify{Zone: z.ID, Why: fmt.Sprintf("level %s on unverified reports alone: routes pay ×%g to cross it, but it is not forbidden and bears on no gate until verified", z.Level, z.Penalty), Reports: ids})
	}
	var blocked []string
	for _, r := range z.Against {
		if strings.HasPrefix(r.Note, "not weighed") {
			blocked = append(blocked, r.ID)
		}
	}
	if len(blocked) > 0 {
		what := fmt.Sprintf("%d reports deny a confirmed report; they are", len(blocked))
		if len(blocked) == 1 {
			what = "1 report denies a confirmed report; it is"
		}
		out = append(out, ToVerify{Zone: z.ID, Why: what + " not weighed until evidence of comparable grade answers it", Reports: blocked})
	}
	return out
}
