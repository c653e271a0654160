package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// SetFastDecode sets whether Plan.UnmarshalJSON reads the plan by its fast
// path first (decode_fast.go), and returns a function that restores it.
func SetFastDecode(on bool) func() {
	old := fastDecode
	fastDecode = on
	return func() { fastDecode = old }
}

// DecodeDocument decodes plan.json b to its document only, as
// Plan.UnmarshalJSON does before it makes the plan of it: by the fast path
// (falling back as it does) or by encoding/json (in parts, as before the
// fast path). For the benchmark of the decoding alone.
func DecodeDocument(b []byte, fast bool) error {
	defer SetFastDecode(fast)()
	if _, ok := unmarshalSplit(b); !ok {
		var doc planJSON
		return json.Unmarshal(b, &doc)
	}
	return nil
}

// CompareFastDecode reads b by the fast path: read says whether it did
// (else it fell back), and err whether what it read differs from
// json.Unmarshal's document (which must then succeed, and be the same,
// field by field).
func CompareFastDecode(b []byte) (read bool, err error) {
	got, ok := unmarshalFast(b)
	if !ok {
		return false, nil
	}
	var want planJSON
	if err := json.Unmarshal(b, &want); err != nil {
		return true, fmt.Errorf("read by the fast path, refused by encoding/json: %w", err)
	}
	if !reflect.DeepEqual(got, &want) {
		return true, errors.New("the fast path's document differs from encoding/json's: " + firstDifference(reflect.ValueOf(*got), reflect.ValueOf(want), "doc"))
	}
	return true, nil
}

// firstDifference names where a and b first differ, for the failure.
func firstDifference(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil %v, %v", path, a.IsNil(), b.IsNil())
			}
			return ""
		}
		return firstDifference(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if d := firstDifference(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Sprintf("%s: nil %v, %v; len %d, %d", path, a.IsNil(), b.IsNil(), a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := firstDifference(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !a.CanInterface() {
		// An unexported field of a plain kind (a stamp's).
		if fmt.Sprint(a) != fmt.Sprint(b) {
			return fmt.Sprintf("%s: %v != %v", path, a, b)
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %#v != %#v", path, a.Interface(), b.Interface())
	}
	return ""
}
