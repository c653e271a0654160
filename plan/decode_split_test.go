package plan_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/muster-evac/muster/plan"
)

// manyHouseholds is handMade with n households (its five over and over,
// with ids of their own, names that need escaping among them), as
// plan.json.
func manyHouseholds(t testing.TB, n int) []byte {
	p := handMade()
	base := p.Households
	p.Households = nil
	for i := range n {
		h := base[i%len(base)]
		h.ID = fmt.Sprintf("H%06d", i)
		if i%7 == 0 {
			h.ID += `,"]}{\"` // a comma, brackets and quotes inside a string
		}
		p.Households = append(p.Households, h)
	}
	data, err := plan.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// unmarshal decodes data by Plan.UnmarshalJSON with households[] split
// from minBytes on (0: never).
func unmarshal(data []byte, minBytes int) (*plan.Plan, error) {
	if minBytes == 0 {
		minBytes = 1 << 62
	}
	defer plan.SetSplitMinBytes(minBytes)()
	var p plan.Plan
	err := json.Unmarshal(data, &p)
	return &p, err
}

// TestSplitDecodeIsTheSame: a plan's households[] decoded in parts (one a
// core) is the plan decoded the one way, for any number of cores and
// sizes of plan, strings holding what the split must not cut at.
func TestSplitDecodeIsTheSame(t *testing.T) {
	for _, procs := range []int{2, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 50, 1001} {
			data := manyHouseholds(t, n)
			want, err := unmarshal(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := unmarshal(data, 1)
			if err != nil {
				t.Fatalf("%d households on %d cores: %v", n, procs, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%d households on %d cores: decoded in parts, the plan differs", n, procs)
			}
			if len(got.Households) != n || (n > 0 && got.Households[n-1].ID != want.Households[n-1].ID) {
				t.Fatalf("%d households on %d cores: %d decoded", n, procs, len(got.Households))
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestSplitDecodeSaysTheSameErrors: a malformed plan decoded in parts is
// refused with the error the one way gives (the byte, the field), a
// malformed household in any part too.
func TestSplitDecodeSaysTheSameErrors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	_, _, cases := malformed()
	data := string(manyHouseholds(t, 200))
	for _, at := range []string{`"H000003"`, `"H000100"`, `"H000199"`} {
		i := strings.Index(data, at)
		j := i + strings.Index(data[i:], `"polyline":"`) + len(`"polyline":"`)
		if next := strings.Index(data[i+1:], `"id"`); i < 0 || j < i || (next >= 0 && next < j-i-1) {
			t.Fatalf("%s: no walk of its own in the plan", at)
		}
		cases = append(cases,
			struct{ name, doc, want string }{"a household's people as text at " + at, strings.Replace(data, at+",", at+`,"people":"one",`, 1), "people"},
			struct{ name, doc, want string }{"a household's walk polyline broken at " + at, data[:j] + "~~~~~~~~?" + data[j:], "walk"})
	}
	for _, c := range cases {
		_, want := unmarshal([]byte(c.doc), 0)
		_, got := unmarshal([]byte(c.doc), 1)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: decoded in parts %v, the one way %v", c.name, got, want)
		}
		if strings.Contains(c.name, "household") && (want == nil || !strings.Contains(want.Error(), c.want)) {
			t.Errorf("%s: %v, want an error about %s", c.name, want, c.want)
		}
	}
}

// FuzzSplitDecode: any input decodes in parts as it does the one way: the
// same plan, or the same error.
func FuzzSplitDecode(f *testing.F) {
	f.Add(manyHouseholds(f, 30))
	f.Add([]byte(`{"version":2,"households":[{"id":"a,b"},{"id":"c\"]"},{"id":"d"}]}`))
	f.Add([]byte(`{"version":2,"households":[1,2,"3"]}`))
	f.Add([]byte(`{"version":2,"households":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
		want, werr := unmarshal(data, 0)
		got, gerr := unmarshal(data, 1)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("in parts: %v; the one way: %v", gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatal("decoded in parts, the plan differs")
		}
	})
}
