package plan

import (
	"encoding/json"
	"runtime"
	"sync"
)

// A plan of 100,000 households is some 30 MB of JSON, four fifths of it
// its households[]; an issuance reads it while the households are read
// beside it, and the plan's decoding, on one core, was what the approval
// waited for, the other core idle (0.2 to 0.3 s). So Plan.UnmarshalJSON
// decodes households[] in as many parts as there are cores, each part a
// run of whole elements, and turns them into Households on as many cores.
// Anything that fails is decoded again the one way, so that what a
// malformed plan is told (the byte, the field) is exactly what it was.

// splitMinBytes is the size of households[] from which it is decoded in
// parts: below it the parts cost more than they save. A variable for the
// tests.
var splitMinBytes = 1 << 20

// planJSONSplit is planJSON whose households[] is decoded in parts.
type planJSONSplit struct {
	planAlias
	Routes     []routeJSON     `json:"routes,omitempty"`
	Groups     []groupJSON     `json:"groups"`
	Households householdsSplit `json:"households"`
}

// householdsSplit is households[], decoded in parts (splitArray).
type householdsSplit []householdJSON

// errSplit says a part failed: the plan is decoded again the one way,
// which says why and where.
type errSplit struct{}

func (errSplit) Error() string { return "a part of households[] did not decode" }

func (hs *householdsSplit) UnmarshalJSON(b []byte) error {
	parts := splitArray(b, runtime.GOMAXPROCS(0))
	if parts == nil {
		return json.Unmarshal(b, (*[]householdJSON)(hs))
	}
	decoded := make([][]householdJSON, len(parts))
	failed := make([]bool, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { failed[i] = json.Unmarshal(part, &decoded[i]) != nil })
	}
	wg.Wait()
	n := 0
	for i := range parts {
		if failed[i] {
			return errSplit{}
		}
		n += len(decoded[i])
	}
	out := make([]householdJSON, 0, n)
	for _, d := range decoded {
		out = append(out, d...)
	}
	*hs = out
	return nil
}

// splitArray cuts the JSON array b (a valid JSON value: json.Unmarshal
// checks the whole document before it decodes) into at most n arrays of
// its elements, in order, cut between elements at about equal sizes; nil
// when it is not worth it (n < 2, b small) or b is not an array.
func splitArray(b []byte, n int) [][]byte {
	if n < 2 || len(b) < splitMinBytes || b[0] != '[' {
		return nil
	}
	// The commas between elements (depth 1, outside strings) at or after
	// each of the n-1 targets.
	var cuts []int
	next := len(b) / n
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 1 && i >= next:
			cuts = append(cuts, i)
			next = len(b) * (len(cuts) + 1) / n
		}
		if len(cuts) == n-1 {
			break
		}
	}
	if len(cuts) == 0 {
		return nil
	}
	parts := make([][]byte, 0, len(cuts)+1)
	from := 1                                  // after '['
	for _, c := range append(cuts, len(b)-1) { // the last part ends at the closing ']'
		part := make([]byte, 0, c-from+2)
		part = append(part, '[')
		part = append(part, b[from:c]...)
		part = append(part, ']')
		parts = append(parts, part)
		from = c + 1
	}
	return parts
}

// unmarshalSplit decodes plan.json b as json.Unmarshal into a planJSON
// would: by unmarshalFast (decode_fast.go) when it reads all of it, else
// with encoding/json, its households[] in parts; false if any of it
// failed (the caller then decodes it the one way, for its error).
func unmarshalSplit(b []byte) (*planJSON, bool) {
	if fastDecode {
		if doc, ok := unmarshalFast(b); ok {
			return doc, true
		}
	}
	var doc planJSONSplit
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, false
	}
	return &planJSON{planAlias: doc.planAlias, Routes: doc.Routes, Groups: doc.Groups, Households: doc.Households}, true
}

// inParts runs f(lo, hi) over [0, n) in as many parts as there are cores
// (one, below minPerPart items a part), and returns the error of the
// lowest part that failed: the one a loop would have met first.
func inParts(n, minPerPart int, f func(lo, hi int) error) error {
	parts := min(runtime.GOMAXPROCS(0), max(1, n/max(minPerPart, 1)))
	if parts <= 1 {
		return f(0, n)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() { errs[k] = f(n*k/parts, n*(k+1)/parts) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
