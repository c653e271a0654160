package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

// FuzzHouseholdRoundTrip: whatever a client sends as a household, the store
// either refuses it as invalid or gives back exactly what it stored (every
// personal field through encryption and back), never an internal error.
func FuzzHouseholdRoundTrip(f *testing.F) {
	f.Add("Zarghuna Karimi", "زرغونه کریمی", "+93705550001", "z@example.org", "passport", "insulin", "fa", "medical", 34.5553, 69.2075, true, 3)
	f.Add("", "", "", "", "", "", "", "", 0.0, 0.0, false, 0)
	f.Add("a\x00b", "\xff", "+1", "x", "\x00", "n", "de", "vip", 91.0, -181.0, true, -1)
	ctx := muster.WithActor(context.Background(), "fuzz")
	s, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, name, local, phone, email, documents, notes, lang, priority string, lat, lon float64, hasLoc bool, size int) {
		h := muster.Household{
			ID: fmt.Sprintf("F%d", n.Add(1)), Name: name, NameLocal: local, Phone: phone, Email: email,
			Documents: documents, Notes: notes, Language: lang, Priority: priority,
			Lat: lat, Lon: lon, HasLocation: hasLoc, PartySize: size,
			Members: []muster.Member{{Name: name, Age: size}},
		}
		rec, err := s.CreateHousehold(ctx, h)
		switch muster.ErrorCode(err) {
		case muster.EINVALID:
			return
		case "":
		default:
			t.Fatalf("create %+v: %v", h, err)
		}
		got, err := s.GetHousehold(ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("read back\n%+v\nstored\n%+v", got, rec)
		}
		if got.Name != name || got.NameLocal != local || got.Phone != phone || got.Notes != notes || got.PartySize != size ||
			(hasLoc && (got.Lat != lat || got.Lon != lon)) {
			t.Fatalf("read back %+v from %+v", got.Household, h)
		}
	})
}
