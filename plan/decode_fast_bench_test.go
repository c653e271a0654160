package plan_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-evac/muster/plan"
)

// bigPlanJSON is a plan of 40,000 households as plan.json: a real plan of
// 2,000 households on a generated city, repeated 20 times, each copy with
// households, groups and rally points of its own (as the issue package's
// benchmark makes its plans of 100,000).
func bigPlanJSON(b *testing.B) []byte {
	c := generatedCity(b, 5, 0.5)
	hs := households(c.foot0, 2000, 5)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		b.Fatal(err)
	}
	big := *p
	big.Households, big.Groups, big.RallyPoints = nil, nil, nil
	n := 0
	for k := range 20 {
		rename := map[string]string{}
		rally := func(id string) string { return fmt.Sprintf("%s-%02d", id, k) }
		for _, r := range p.RallyPoints {
			r.ID = rally(r.ID)
			big.RallyPoints = append(big.RallyPoints, r)
		}
		for _, h := range p.Households {
			n++
			rename[h.ID] = fmt.Sprintf("H%06d", n)
			h.ID = rename[h.ID]
			if h.Group != "" {
				h.Group = fmt.Sprintf("%s-%02d", h.Group, k)
			}
			if h.RallyPoint != "" {
				h.RallyPoint = rally(h.RallyPoint)
			}
			big.Households = append(big.Households, h)
		}
		for _, g := range p.Groups {
			g.ID, g.RallyPoint = fmt.Sprintf("%s-%02d", g.ID, k), rally(g.RallyPoint)
			members := make([]string, len(g.Households))
			for i, h := range g.Households {
				members[i] = rename[h]
			}
			g.Households = members
			big.Groups = append(big.Groups, g)
		}
	}
	return must(plan.Encode(&big))
}

// BenchmarkDecodePlan decodes a plan of 40,000 households (bigPlanJSON,
// 15 MB) as an approval does (Plan.UnmarshalJSON), by encoding/json (in
// parts, as before the fast path) and by the fast path, side by side:
// the document alone (JSON to the fields of plan.json) and the whole
// plan (the document made a Plan: polylines decoded, times read). CPU
// time per decoding in cpu-s/op (the decoding runs on every core):
//
//	go test -run '^$' -bench DecodePlan -benchtime 10x ./plan
func BenchmarkDecodePlan(b *testing.B) {
	data := bigPlanJSON(b)
	if read, err := plan.CompareFastDecode(data); !read || err != nil {
		b.Fatalf("the fast path did not read the plan (%v)", err)
	}
	b.Logf("%.1f MB", float64(len(data))/1e6)
	for _, what := range []string{"document", "plan"} {
		for _, way := range []struct {
			name string
			fast bool
		}{{"encoding_json", false}, {"fast", true}} {
			b.Run(what+"/"+way.name, func(b *testing.B) {
				defer plan.SetFastDecode(way.fast)()
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				cpu0 := cpuSeconds()
				for b.Loop() {
					var err error
					if what == "document" {
						err = plan.DecodeDocument(data, way.fast)
					} else {
						var p plan.Plan
						err = p.UnmarshalJSON(data)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
	}
}
