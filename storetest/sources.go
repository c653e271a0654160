package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// testSources: the source registry is stored, replaced, deleted and read
// back in id order as it was put, stamped with the store's clock and the
// actor; a bad grade is refused and changes nothing; every change is
// audited with what it changed, the chain verifies, and a second instance
// on the same database sees each change and hears of it.
func testSources(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	if got := must(e.store.Sources(e.ctx))(t); len(got) != 0 {
		t.Fatalf("a new database has sources: %+v", got)
	}
	second := e.open(e.keys) // another server instance on the same database
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	heard := must(second.Subscribe(ctx))(t)

	flood := muster.SourceGrade{ID: "tg-abbey-open-17", Name: "Telegram account 17", Kind: muster.SourceSocial, Reliability: "F",
		Hostile: true, Cluster: "abbey-open-campaign", Note: "one of forty new accounts posting one text within 40 min\nticket 4411"}
	official := muster.SourceGrade{ID: "us-defense-official", Name: "US defense official", Kind: muster.SourceOfficial, Reliability: "B"}
	bare := muster.SourceGrade{ID: "Zarang-caller", UpdatedAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedBy: "forged"}
	before := time.Now().Add(-time.Second)
	var put []muster.SourceGrade
	for _, g := range []muster.SourceGrade{official, flood, bare} {
		got := must(e.store.PutSource(e.ctx, g))(t)
		want := g
		want.UpdatedAt, want.UpdatedBy = got.UpdatedAt, "tester"
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("put %s returned\n %+v\nwant\n %+v", g.ID, got, want)
		}
		if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) || got.UpdatedAt.Location() != time.UTC {
			t.Fatalf("put %s: updated at %v, not the store's clock (UTC now)", g.ID, got.UpdatedAt)
		}
		put = append(put, got)
	}
	// Byte order of ids: "Zarang-caller" < "tg-..." < "us-...".
	want := []muster.SourceGrade{put[2], put[1], put[0]}
	if got := must(e.store.Sources(e.ctx))(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n got %+v\nwant %+v", got, want)
	}
	if got := must(second.Sources(e.ctx))(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("the second instance reads:\n got %+v\nwant %+v", got, want)
	}
	if !waitEvent(heard, muster.Event{Kind: "source", ID: flood.ID}) {
		t.Fatal("the second instance heard nothing of a new source")
	}

	// Replace, by another analyst through the other instance.
	other := muster.WithActor(e.ctx, "analyst-2")
	official.Reliability, official.Hostile, official.Cluster, official.Note = "C", true, "c1", "relayed a forged order"
	replaced := must(second.PutSource(other, official))(t)
	if replaced.UpdatedBy != "analyst-2" || replaced.Reliability != "C" || !replaced.Hostile {
		t.Fatalf("replaced: %+v", replaced)
	}
	got := must(e.store.Sources(e.ctx))(t)
	if len(got) != 3 || !reflect.DeepEqual(got[2], replaced) {
		t.Fatalf("the first instance does not read the second's change: %+v", got)
	}
	// A put that changes nothing is still recorded (an analyst confirming
	// a grade), and says so.
	must(e.store.PutSource(e.ctx, replaced))(t)

	if err := e.store.DeleteSource(e.ctx, bare.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.store.DeleteSource(e.ctx, bare.ID), muster.ENOTFOUND, "deleting a source twice")
	wantCode(t, second.DeleteSource(e.ctx, "never-graded"), muster.ENOTFOUND, "deleting an unknown source")
	wantCode(t, e.store.DeleteSource(e.ctx, "a\x00b"), muster.ENOTFOUND, "deleting a source by an id no row can have")
	if got := must(second.Sources(e.ctx))(t); len(got) != 2 || got[0].ID != flood.ID {
		t.Fatalf("after the delete the second instance reads %+v", got)
	}

	// Bad grades: EINVALID naming the field, and nothing changes, not
	// even the audit log.
	stored := must(e.store.Sources(e.ctx))(t)
	entries := len(must(e.store.ListAudit(e.ctx, 0, 0))(t))
	for field, bad := range map[string]func(g *muster.SourceGrade){
		"id":          func(g *muster.SourceGrade) { g.ID = "" },
		"id ":         func(g *muster.SourceGrade) { g.ID = "a\x00b" },
		"reliability": func(g *muster.SourceGrade) { g.Reliability = "G" },
		"kind":        func(g *muster.SourceGrade) { g.Kind = "rumour" },
		"cluster":     func(g *muster.SourceGrade) { g.Cluster = strings.Repeat("c", muster.MaxIDBytes+1) },
		"name":        func(g *muster.SourceGrade) { g.Name = "\xff\xfe" },
		"note":        func(g *muster.SourceGrade) { g.Note = "bell\a" },
	} {
		g := flood
		g.Reliability = "A" // would change the stored grade
		bad(&g)
		_, err := e.store.PutSource(e.ctx, g)
		wantCode(t, err, muster.EINVALID, fmt.Sprintf("put with a bad %s", field))
		if f := strings.TrimSpace(field); !strings.Contains(err.Error(), f+": ") {
			t.Errorf("bad %s: the error does not name the field: %v", f, err)
		}
	}
	if got := must(e.store.Sources(e.ctx))(t); !reflect.DeepEqual(got, stored) {
		t.Fatalf("refused grades changed the registry:\n got %+v\nwant %+v", got, stored)
	}
	if n := len(must(e.store.ListAudit(e.ctx, 0, 0))(t)); n != entries {
		t.Fatalf("refused grades were audited: %d entries, then %d", entries, n)
	}

	// Every change is audited, with what it changed, by whom.
	type change struct{ actor, action, target, detail string }
	var changes []change
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
		if strings.HasPrefix(en.Action, "source.") {
			changes = append(changes, change{en.Actor, en.Action, en.Target, en.Detail})
		}
	}
	wantChanges := []change{
		{"tester", "source.put", "source:us-defense-official", "new: reliability B, kind official"},
		{"tester", "source.put", "source:tg-abbey-open-17", "new: reliability F, hostile, cluster abbey-open-campaign, kind social"},
		{"tester", "source.put", "source:Zarang-caller", "new: ungraded"},
		{"analyst-2", "source.put", "source:us-defense-official", "reliability B -> C, hostile, cluster c1, note changed"},
		{"tester", "source.put", "source:us-defense-official", "no change"},
		{"tester", "source.delete", "source:Zarang-caller", "deleted: was ungraded"},
	}
	if !reflect.DeepEqual(changes, wantChanges) {
		t.Fatalf("audited source changes:\n got %q\nwant %q", changes, wantChanges)
	}
	if v := must(second.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("the audit chain does not verify: %+v", v)
	}
}
