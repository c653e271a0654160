package httpapi

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"testing"
)

// FuzzHouseholdBody feeds any bytes to the strict JSON decoder and the
// household validation: no panic, and every rejection is a 4xx JSON error,
// never a 500.
func FuzzHouseholdBody(f *testing.F) {
	f.Add(mustJSON(newHousehold("HH-F", "+93700000001")))
	f.Add([]byte(`{"id":"X","nmae":"typo"}`))
	f.Add([]byte(`{"party_size":1e400}`))
	f.Add([]byte(`{"location":{"lat":91,"lon":0}} {}`))
	f.Add([]byte(`{"members":[{"name":"a","age":-1}],"name":"n","party_size":1,"address":"x","phone":"1"}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Add([]byte(`[`))
	s := &Server{cfg: Config{MaxJSONBytes: 4096}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := httptest.NewRequest("POST", "/api/households", bytes.NewReader(data))
		w := httptest.NewRecorder()
		var in householdIn
		err := s.decodeJSON(w, r, &in)
		if err == nil {
			_, err = in.toHousehold("")
		}
		if err == nil {
			return
		}
		rec := httptest.NewRecorder()
		s.writeError(rec, r, err)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("input %q: status %d for %v", data, rec.Code, err)
		}
		errorOf(t, rec.Body.Bytes())
	})
}
