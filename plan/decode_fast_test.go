package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// realPlan is a plan the planner made on a generated city, as plan.json:
// a fresh plan and a re-plan of it after a new threat (a bomb on a route,
// the busiest gate closed: groups re-routed on the move, a diff, zones,
// households unserved), each made once per process.
var (
	realMu    sync.Mutex
	realPlans = map[string][]byte{}
)

func realPlan(t testing.TB, name string) []byte {
	t.Helper()
	realMu.Lock()
	defer realMu.Unlock()
	if len(realPlans) == 0 {
		makeRealPlans(t)
	}
	return realPlans[name]
}

func makeRealPlans(t testing.TB) {
	c := generatedCity(t, 4, 0.5)
	hs := households(c.foot0, 400, 2)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	// A small one, for the fuzzer: a dozen households.
	small, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs[:12], Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	closed, _ := bombAndClosedGate(t, ctx, c, p0)
	p1, err := plan.Replan(ctx, p0, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, GateStatus: map[string]string{closed: muster.GateClosed}},
		plan.State{At: start.Add(40 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	realPlans["fresh"] = must(plan.Encode(p0))
	realPlans["small"] = must(plan.Encode(small))
	realPlans["replan"] = must(plan.Encode(p1))
}

// unmarshalWay decodes data by Plan.UnmarshalJSON, by the fast path first
// or not, households[] split from minBytes on (0: never): encoding/json
// alone when neither.
func unmarshalWay(data []byte, fast bool, minBytes int) (*plan.Plan, error) {
	defer plan.SetFastDecode(fast)()
	return unmarshal(data, minBytes)
}

// sameWays: the fast path (and its fallback) decodes data as encoding/json
// alone does: the same plan, or the same error, word for word; and read
// says whether the fast path read it itself (its document then the same
// as encoding/json's, field by field).
func sameWays(t *testing.T, name string, data []byte) (read bool) {
	t.Helper()
	read, err := plan.CompareFastDecode(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, werr := unmarshalWay(data, false, 0)
	for _, minBytes := range []int{0, 1} {
		got, gerr := unmarshalWay(data, true, minBytes)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%s: the fast way: %v; encoding/json: %v", name, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the fast way's plan differs from encoding/json's", name)
		}
	}
	return read
}

// TestFastDecodeRealPlans: plans the planner made, fresh and re-planned,
// are read by the fast path itself (not its fallback), whole or in parts
// on any number of cores, compact or indented, to encoding/json's
// document and plan.
func TestFastDecodeRealPlans(t *testing.T) {
	for _, name := range []string{"fresh", "replan"} {
		data := realPlan(t, name)
		var indented bytes.Buffer
		if err := json.Indent(&indented, data, " ", "\t"); err != nil {
			t.Fatal(err)
		}
		for _, procs := range []int{1, 2, 3, 8} {
			old := runtime.GOMAXPROCS(procs)
			for _, minBytes := range []int{1, 1 << 20} {
				restore := plan.SetSplitMinBytes(minBytes)
				for _, doc := range []struct {
					name string
					data []byte
				}{{name, data}, {name + " indented", indented.Bytes()}} {
					if !sameWays(t, fmt.Sprintf("%s on %d cores, parts from %d bytes", doc.name, procs, minBytes), doc.data) {
						t.Fatalf("%s: the fast path did not read a plan as muster writes it", doc.name)
					}
				}
				restore()
			}
			runtime.GOMAXPROCS(old)
		}
		p, err := unmarshalWay(data, true, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Households) == 0 || len(p.Groups) == 0 || (name == "replan" && (p.Diff == nil || len(p.Zones) == 0)) {
			t.Fatalf("%s: %d households, %d groups, diff %v, zones %d bytes: not the plan made", name, len(p.Households), len(p.Groups), p.Diff, len(p.Zones))
		}
		// It is the plan as written: written again, the same bytes.
		if again := must(plan.Encode(p)); !bytes.Equal(again, data) {
			t.Fatalf("%s: read and written again, %d bytes of %d", name, len(again), len(data))
		}
	}
	// A plan that reads as encoding/json alone reads it (households
	// 'decoded in parts), manyHouseholds's escapes among them.
	if !sameWays(t, "many households", manyHouseholds(t, 1001)) {
		t.Fatal("many households: not read by the fast path")
	}
}

// fastCases are plans muster would not write, each a change to the
// hand-made plan (encode_test.go): those the fast path reads (read) and
// those it leaves to encoding/json.
func fastCases() []struct {
	name, doc string
	read      bool
} {
	good, _, malformedCases := malformed()
	at := func(old, new string) string {
		if !strings.Contains(good, old) {
			panic("not in the plan: " + old)
		}
		return strings.Replace(good, old, new, 1)
	}
	const h1 = `{"id":"H1","group":"G1","people":1`
	const h2walk = `"walk":{"duration_s":10,"distance_m":0,"exposure":0}`
	cases := []struct {
		name, doc string
		read      bool
	}{
		// Read by the fast path: what encoding/json reads the same way
		// whatever the field.
		{"as written", good, true},
		{"white space everywhere", indent(good), true},
		{"an unknown field", at(`"version":2,`, `"version":2,"ab":[1,{"x":"]\"}"}],`), true},
		{"escapes in an id", at(h1, `{"id":"H\"1\\\/\b\f\n\r\t","group":"G1","people":1`), true},
		{"\\u in an id", at(h1, `{"id":"\u0048\u00e9\u20ac","group":"G1","people":1`), true},
		{"a surrogate pair", at(h1, `{"id":"\ud83d\ude00","group":"G1","people":1`), true},
		{"a lone surrogate", at(h1, `{"id":"\ud83dx\ude00\ud83d\u0041","group":"G1","people":1`), true},
		{"UTF-8 in an id", at(h1, `{"id":"Hé€😀","group":"G1","people":1`), true},
		{"invalid UTF-8 in an id", at(h1, "{\"id\":\"H\xff\xc3(\xed\xa0\x80\","+`"group":"G1","people":1`), true},
		{"a priority not muster's", at(`"priority":"medical"`, `"priority":"Medical"`), true},
		{"an empty priority", at(`"priority":"medical"`, `"priority":""`), true},
		{"a negative zero", at(`"duration_s":612.3`, `"duration_s":-0`), true},
		{"an exponent", at(`"duration_s":612.3`, `"duration_s":6.123E+2`), true},
		{"a long float", at(`"duration_s":612.3`, `"duration_s":1234567890123456789012345`), true},
		{"an empty walk", at(h2walk, `"walk":{}`), true},
		{"a group of no households", at(`"households":["H5"]`, `"households":[]`), true},
		{"an empty household", at(h1, `{},{"id":"H1","group":"G1","people":1`), true},
		{"empty households", at(`"households":[{`, `"households":[],"z":[{`), true},
		{"escape false", at(`"escape":true`, `"escape":false`), true},
		{"households unknown to encoding/json too", at(`"version":2,`, `"version":2,"household":[1],"routes_":null,`), true},

		// Left to encoding/json.
		{"a key in capitals", at(h1, `{"ID":"H1","group":"G1","people":1`), false},
		{"a key folded", at(`"households":[{`, `"housEholds":[{`), false},
		{"a key folded by Unicode", at(`"households":[{`, `"houſeholds":[{`), false},
		{"a key with an escape", at(h1, `{"i\u0064":"H1","group":"G1","people":1`), false},
		{"a top-level key with an escape", at(`"version":2,`, `"version":2,"a\"b\\u00e9":[1],`), false},
		{"an unknown key", at(h1, `{"id":"H1","colour":"red","group":"G1","people":1`), false},
		{"a key twice", at(h1, `{"id":"H1","group":"G1","people":1,"people":7`), false},
		{"households twice", at(`"households":[{`, `"households":[],"households":[{`), false},
		{"a null priority", at(`"priority":"medical"`, `"priority":null`), false},
		{"a null walk", at(h2walk, `"walk":null`), false},
		{"a null household", at(h1, `null,`+h1), false},
		{"null households", at(`"households":[{`, `"households":null,"z":[{`), false},
		{"null routes", at(`"routes":[`, `"routes":null,"z":[`), false},
		{"a null route index", at(`"route":0}`, `"route":null}`), false},
		{"a null escape", at(`"escape":true`, `"escape":null`), false},
		{"people with a fraction", at(h1, `{"id":"H1","group":"G1","people":1.0`), false},
		{"people with an exponent", at(h1, `{"id":"H1","group":"G1","people":1e0`), false},
		{"people past int64", at(h1, `{"id":"H1","group":"G1","people":12345678901234567890`), false},
		{"people of 19 digits", at(h1, `{"id":"H1","group":"G1","people":1234567890123456789`), false},
		{"a float past float64", at(`"duration_s":612.3`, `"duration_s":1e400`), false},
		{"a string for a number", at(`"duration_s":612.3`, `"duration_s":"612.3"`), false},
		{"a number for a string", at(h1, `{"id":1,"group":"G1","people":1`), false},
		{"a number for a bool", at(`"escape":true`, `"escape":1`), false},
		{"an array for an object", at(h2walk, `"walk":[]`), false},
		{"an object for an array", at(`"households":[{`, `"households":{},"z":[{`), false},
		{"a leading zero", at(h1, `{"id":"H1","group":"G1","people":01`), false},
		{"a plus", at(h1, `{"id":"H1","group":"G1","people":+1`), false},
		{"a bare dot", at(`"duration_s":612.3`, `"duration_s":612.`), false},
		{"an escape JSON has not", at(h1, `{"id":"H\'1","group":"G1","people":1`), false},
		{"a short \\u", at(h1, `{"id":"H\u12","group":"G1","people":1`), false},
		{"a control character", at(h1, "{\"id\":\"H\t1\",\"group\":\"G1\",\"people\":1"), false},
		{"a comma too many", at(h1, `{"id":"H1",,"group":"G1","people":1`), false},
		{"a trailing comma", at(`"households":[{`, `"households":[{"id":"x"},],"z":[{`), false},
		{"a missing comma", at(h1, `{"id":"H1" "group":"G1","people":1`), false},
		{"a version 1 household", at(h1, `{"id":"H1","group":"G1","report_by":"2026-01-01T06:15:00Z","people":1`), false},
		{"an inline route", at(`"route":0}`, `"route":{"duration_s":1,"distance_m":1,"exposure":0}}`), false},
		{"an empty array closed by a brace", at(`"routes":[`, `"routes":[},"z":[`), false},
		{"an array closed by a brace", at(`"households":[{`, `"households":[{"id":"x"}},"z":[{`), false},
		{"brackets crossed", at(`"households":[{`, `"households":[{"id":"x"],"z":[{`), false},
		{"a quote escaped at a cut", at(h1, `{"id":"H1\\\"},{","group":"G1","people":1`), true},
		{"garbage after", good + "x", false},
		{"not an object", "[" + good + "]", false},
		{"empty", "", false},
		{"null", "null", false},
		{"an empty object", "{}", true},
		{"an empty object, spaced", " { } ", true},
	}
	for _, c := range malformedCases {
		cases = append(cases, struct {
			name, doc string
			read      bool
		}{"malformed: " + c.name, c.doc, false})
	}
	return cases
}

// indent is doc indented by json.Indent.
func indent(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "\n ", "\t"); err != nil {
		panic(err)
	}
	return b.String()
}

// TestFastDecodeFallsBack: whatever the plan holds, the fast way decodes it
// as encoding/json does, the same plan or the same error; what it reads
// itself is what encoding/json reads the same way whatever the field, and
// everything else it leaves to encoding/json.
func TestFastDecodeFallsBack(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for _, c := range fastCases() {
		read := sameWays(t, c.name, []byte(c.doc))
		// Malformed cases the fast path reads are errors of plan(): the
		// document is as encoding/json's.
		if !strings.HasPrefix(c.name, "malformed: ") && read != c.read {
			t.Errorf("%s: read by the fast path %v, want %v", c.name, read, c.read)
		}
	}
}

// TestFastDecodeBoundsItsSlices: the fast path makes each array's slice at
// its length before it reads the elements; a plan of commas alone (a
// megabyte of them, a million elements to its count) is left to
// encoding/json before anything is made, not made 120 times its size.
func TestFastDecodeBoundsItsSlices(t *testing.T) {
	data := []byte(`{"version":2,"households":[` + strings.Repeat(",", 1<<20) + `]}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read, err := plan.CompareFastDecode(data)
	runtime.ReadMemStats(&after)
	if read || err != nil {
		t.Fatalf("read by the fast path %v (%v)", read, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8*uint64(len(data)) {
		t.Errorf("%d bytes allocated for a plan of %d", grew, len(data))
	}
	sameWays(t, "commas alone", data)
}

// FuzzFastDecode: any input decodes the fast way as encoding/json decodes
// it: the same plan or the same error, and what the fast path reads
// itself is encoding/json's document, field by field.
func FuzzFastDecode(f *testing.F) {
	f.Add(realPlan(f, "small"))
	f.Add(must(plan.Encode(handMade())))
	f.Add(manyHouseholds(f, 12))
	for _, c := range fastCases() {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
		sameWays(t, "fuzzed", data)
	})
}
