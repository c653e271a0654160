package places

import (
	"bytes"
	"reflect"
	"testing"
)

// TestWriteReadsBack: every place of the scenarios' places files survives
// Write then Read exactly.
func TestWriteReadsBack(t *testing.T) {
	for _, rel := range []string{"scenarios/kabul-2021/places.geojson", "scenarios/porto-alegre-drill/places.geojson"} {
		in, err := ReadFile(shared(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, in, "round trip"); err != nil {
			t.Fatal(err)
		}
		out, err := Read(&buf, "round trip")
		if err != nil {
			t.Fatalf("%s: reading what Write wrote: %v", rel, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("%s: places differ after a round trip", rel)
		}
	}
}
