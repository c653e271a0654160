package httpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckDuplicateKeys(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}`: "",
		`{"a":1,"a":1}`:                    `the body has the key "a" twice`,
		`{"x":{"y":[0,{"k":1,"K":2}]}}`:    `x.y[1] has the keys "k" and "K"`,
		`[{"a":1},{"b":1,"b":2}]`:          `[1] has the key "b" twice`,
		`{"a":` + strings.Repeat("[", 100): "nested more than 64 levels",
		`{"a":1,"a"`:                       `the key "a" twice`, // found before the syntax error
		`{"a" 1}`:                          "",                  // the decoder's to report
		`"just a string"`:                  "",
	} {
		err := checkDuplicateKeys([]byte(body))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// FuzzCheckDuplicateKeys: no panic; an error is always a 400 naming the
// body; what encoding/json writes from a map has no duplicates.
func FuzzCheckDuplicateKeys(f *testing.F) {
	f.Add([]byte(`{"a":1,"A":2}`))
	f.Add([]byte(`{"x":[{"y":{"z":null,"z":true}}]}`))
	f.Add([]byte(`[[[[[]]]]]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkDuplicateKeys(b)
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || !strings.HasPrefix(ae.message, "request body: ")) {
			t.Fatalf("%q: %v", b, err)
		}
		var v any
		if json.Unmarshal(b, &v) == nil {
			again, _ := json.Marshal(v)
			if err := checkDuplicateKeys(again); err != nil && !strings.Contains(err.Error(), "differ only by case") && !strings.Contains(err.Error(), "levels deep") {
				t.Fatalf("%s, re-encoded from a map: %v", again, err)
			}
		}
	})
}
