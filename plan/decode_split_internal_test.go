package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// TestSplitArray: the parts are arrays of whole elements, in order, as
// many as asked for when there are enough elements, cut only between
// elements whatever their strings hold (a part the decoder would refuse
// would only be decoded again the one way, slower: so this is tested
// here, where the plan's result cannot hide it).
func TestSplitArray(t *testing.T) {
	defer func(old int) { splitMinBytes = old }(splitMinBytes)
	splitMinBytes = 1
	tricky := []string{`a,b`, `"]`, `\`, `}{`, `\"],[`, `[`, `x\\`, "é,ü", `\u005d`}
	var elems []any
	for i := range 200 {
		switch i % 4 {
		case 0:
			elems = append(elems, map[string]any{"id": tricky[i%len(tricky)] + fmt.Sprint(i), "n": i, "l": []any{i, "]", map[string]any{"x": "[,"}}})
		case 1:
			elems = append(elems, tricky[i%len(tricky)])
		case 2:
			elems = append(elems, []any{[]any{}, map[string]any{}, i})
		default:
			elems = append(elems, i)
		}
	}
	whole, err := json.Marshal(elems)
	if err != nil {
		t.Fatal(err)
	}
	spaced, err := json.MarshalIndent(elems, " ", "\t")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{whole, spaced} {
		for _, n := range []int{2, 3, 7, 200} {
			parts := splitArray(b, n)
			// (As many as asked when each is many elements; with one
			// element a part some targets fall in the same element.)
			if len(parts) > n || (n < 10 && len(parts) != n) || len(parts) < 2 {
				t.Fatalf("%d parts asked, %d made", n, len(parts))
			}
			var got []any
			for i, p := range parts {
				var part []any
				if err := json.Unmarshal(p, &part); err != nil {
					t.Fatalf("part %d of %d is not an array of elements: %v\n%s", i, n, err, p)
				}
				if len(part) == 0 {
					t.Fatalf("part %d of %d is empty", i, n)
				}
				got = append(got, part...)
			}
			var want []any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%d parts: the elements differ from the array's", n)
			}
		}
	}
	for _, b := range []string{`[]`, `[1]`, `null`, `{"a":[1,2]}`, `"[1,2]"`} {
		if parts := splitArray([]byte(b), 2); parts != nil {
			t.Errorf("%s: split in %d", b, len(parts))
		}
	}
}
