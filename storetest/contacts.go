package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/muster-evac/muster"
)

// contactHouseholds returns n households whose contact fields vary the
// way a real registry's do: Latin and local-script names (Dari, Pashto),
// either missing, no phone, no e-mail, no language, and one with nothing
// but its id.
func contactHouseholds(n int) []muster.Household {
	hs := batch(1, n)
	for i := range hs {
		h := &hs[i]
		switch i % 6 {
		case 1:
			h.NameLocal = "" // a Latin name only
		case 2:
			h.Name, h.Language = "", muster.LangPashto // a local name only, and a phone only
			h.NameLocal, h.Email = fmt.Sprintf("ګل احمد ځدراڼ %d", i), ""
		case 3:
			h.Phone, h.Language = "", muster.LangEnglish // an e-mail only
		case 4:
			h.Language = "" // the registry does not know it
		}
	}
	bare := &hs[n/2]
	*bare = muster.Household{ID: bare.ID} // nothing but an id
	return hs
}

// contactOf is what ListHouseholdContacts must return of h: its contact
// fields, and every other field zero.
func contactOf(h *muster.Household) muster.Household {
	return muster.Household{ID: h.ID, Language: h.Language, Name: h.Name, NameLocal: h.NameLocal, Phone: h.Phone, Email: h.Email}
}

// testHouseholdContacts checks ListHouseholdContacts against the full
// read: for every household the same id, language, names, phone and
// e-mail as ListHouseholds, every other field zero, in id order across
// pages of every size; only those four sealed columns opened; a sealed
// contact moved to another row refused; and a bad cursor refused.
func testHouseholdContacts(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	if hs, next := must2c(t)(e.store.ListHouseholdContacts(e.ctx, "", 0)); len(hs) != 0 || next != "" {
		t.Fatalf("empty registry: %d contacts, next %q", len(hs), next)
	}
	const n = 23
	must(e.store.ImportHouseholds(e.ctx, contactHouseholds(n), muster.ImportOptions{}))(t)

	// What the full read says, the reference the light one is held to.
	var want []muster.Household
	for after := ""; ; {
		page, next := must2(t)(e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{AfterID: after, Limit: 10}))
		for i := range page {
			want = append(want, contactOf(&page[i].Household))
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(want) != n {
		t.Fatalf("the full read lists %d households, want %d", len(want), n)
	}
	// The check below would prove little if the registry lacked the
	// cases it is about.
	var localOnly, noPhone, noEmail, noLanguage, bare bool
	for _, h := range want {
		localOnly = localOnly || h.Name == "" && h.NameLocal != "" && h.Phone != "" && h.Email == ""
		noPhone = noPhone || h.Phone == "" && h.Email != ""
		noEmail = noEmail || h.Email == "" && h.Phone != ""
		noLanguage = noLanguage || h.Language == "" && h.Name != ""
		bare = bare || reflect.DeepEqual(h, muster.Household{ID: h.ID})
	}
	if !localOnly || !noPhone || !noEmail || !noLanguage || !bare {
		t.Fatalf("the registry lacks a case: local name only %v, no phone %v, no e-mail %v, no language %v, id only %v",
			localOnly, noPhone, noEmail, noLanguage, bare)
	}

	for _, limit := range []int{1, 7, n - 1, n, n + 1, 0, muster.MaxContactsPage + 1} {
		var got []muster.Household
		pages := 0
		for after := ""; ; {
			page, next := must2c(t)(e.store.ListHouseholdContacts(e.ctx, after, limit))
			pages++
			if limit > 0 && len(page) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			if len(page) == 0 || next != page[len(page)-1].ID {
				t.Fatalf("limit %d: next %q after a page of %d ending %+v", limit, next, len(page), page[len(page)-1:])
			}
			if pages > n+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			after = next
		}
		if limit > 0 && limit <= n && pages != (n+limit-1)/limit {
			t.Fatalf("limit %d: %d pages, want %d", limit, pages, (n+limit-1)/limit)
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d contacts, want %d", limit, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("limit %d: contact %d\n got %+v\nwant %+v (the full read's, other fields zero)", limit, i, got[i], want[i])
			}
		}
	}
	// A cursor between ids, and after the last.
	mid, _ := must2c(t)(e.store.ListHouseholdContacts(e.ctx, want[9].ID+"a", 0))
	if len(mid) != n-10 || mid[0].ID != want[10].ID {
		t.Fatalf("after %sa: %d contacts from %+v", want[9].ID, len(mid), mid[:min(1, len(mid))])
	}
	if end, next := must2c(t)(e.store.ListHouseholdContacts(e.ctx, want[n-1].ID, 5)); len(end) != 0 || next != "" {
		t.Fatalf("after the last: %d contacts, next %q", len(end), next)
	}
	_, _, err := e.store.ListHouseholdContacts(e.ctx, "\xff", 0)
	wantCode(t, err, muster.EINVALID, "contacts after a cursor that is not an id")

	// Data minimisation: the light read opens only the four sealed
	// contact fields of each household, where the full read opens all.
	rec := &recordingKeys{Keys: e.keys, opened: map[string][]string{}}
	watched, err := e.db.Open(e.ctx, rec.DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer watched.Close()
	rec.reset()
	must2c(t)(watched.ListHouseholdContacts(e.ctx, "", 0))
	opened := rec.reset()
	for _, h := range want {
		if got := opened[h.ID]; !slices.Equal(got, []string{"email", "name", "name_local", "phone"}) {
			t.Fatalf("the contacts of %s opened the fields %v, want the names, phone and e-mail only", h.ID, got)
		}
	}
	if len(opened) != n {
		t.Fatalf("the contacts opened fields of %d households, want %d", len(opened), n)
	}
	must2(t)(watched.ListHouseholds(e.ctx, muster.HouseholdFilter{Limit: 1}))
	if got := rec.reset()[want[0].ID]; !slices.Contains(got, "members") || !slices.Contains(got, "notes") {
		t.Fatalf("the full read opened %v: the recorder does not see what the store opens", got)
	}

	// An adversary who can write the database swaps two households'
	// sealed phones, to send one's instruction to the other: the phone
	// does not open in another row, and the read says whose.
	e.db.Exec(t, `UPDATE households SET phone_enc = (SELECT phone_enc FROM households WHERE id = '`+want[0].ID+`') WHERE id = '`+want[1].ID+`'`)
	_, _, err = e.store.ListHouseholdContacts(e.ctx, "", 0)
	if err == nil || !strings.Contains(err.Error(), want[1].ID) || !strings.Contains(err.Error(), "phone") {
		t.Fatalf("contacts with a phone moved from %s to %s: %v, want an error naming %s and its phone", want[0].ID, want[1].ID, err, want[1].ID)
	}
}

func must2c(t testing.TB) func(hs []muster.Household, next string, err error) ([]muster.Household, string) {
	return func(hs []muster.Household, next string, err error) ([]muster.Household, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return hs, next
	}
}

// recordingKeys opens a store whose sealer records, by household, which
// of its fields were opened (aad "household:<id>:<field>").
type recordingKeys struct {
	*Keys
	mu     sync.Mutex
	opened map[string][]string
}

func (r *recordingKeys) DataKeys() muster.DataKeys {
	dk := r.Keys.DataKeys()
	unwrap := dk.Unwrap
	dk.Unwrap = func(w []byte) (muster.Sealer, error) {
		s, err := unwrap(w)
		if err != nil {
			return nil, err
		}
		return recordingSealer{Sealer: s, r: r}, nil
	}
	return dk
}

// reset returns what was opened since the last reset, each household's
// fields sorted, and forgets it.
func (r *recordingKeys) reset() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.opened
	for _, fs := range out {
		slices.Sort(fs)
	}
	r.opened = map[string][]string{}
	return out
}

type recordingSealer struct {
	muster.Sealer
	r *recordingKeys
}

func (s recordingSealer) Open(ct []byte, aad string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(aad, "household:"); ok {
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			s.r.mu.Lock()
			s.r.opened[rest[:i]] = append(s.r.opened[rest[:i]], rest[i+1:])
			s.r.mu.Unlock()
		}
	}
	return s.Sealer.Open(ct, aad)
}
