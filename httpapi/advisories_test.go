package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/advisory"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/paulmach/orb"
)

// cityBox is a polygon around the western half of the test city.
func cityBox(t *testing.T) string {
	t.Helper()
	k := testCity(t)
	minLon, minLat, maxLon, maxLat := 180.0, 90.0, -180.0, -90.0
	for i := 0; i < k.footGraph.NumNodes(); i++ {
		p := k.footGraph.NodePoint(uint32(i))
		minLon, maxLon = min(minLon, p[0]), max(maxLon, p[0])
		minLat, maxLat = min(minLat, p[1]), max(maxLat, p[1])
	}
	midLon := (minLon + maxLon) / 2
	return fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],[%f,%f]]]}`,
		minLon-0.01, minLat-0.01, midLon, minLat-0.01, midLon, maxLat+0.01, minLon-0.01, maxLat+0.01, minLon-0.01, minLat-0.01)
}

// TestAdvisoriesThroughTheAPI: a planner's advisory reaches the households
// registered in its area, each in its language, queued with the advisory
// in one transaction; its CAP is public and reads back; a zone of the
// threat picture is an area too; another system's CAP is imported by an
// operator and delivered, and CAP under this deployment's own name is
// refused.
func TestAdvisoriesThroughTheAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 30, &now)
		req := fmt.Sprintf(`{"canned":"avoid-gates","area_name":"the western districts","polygon":%s,"severity":"Extreme"}`, cityBox(t))
		e.do("field", "POST", "/api/advisories", []byte(req), 403, nil)
		var a advisoryOut
		e.do("planner", "POST", "/api/advisories", []byte(req), 201, &a)
		// HH-A, the environment's household, is outside the city's box.
		if a.Recipients == 0 || a.Recipients >= 31 || a.Queued < a.Recipients || a.Origin != muster.AdvisoryIssued || a.Sender != "muster@test-deploy" ||
			len(a.ByLanguage) < 2 || a.CreatedBy != "planner-user" {
			t.Fatalf("advisory: %+v", a)
		}
		if n := outboxCount(e, "&instruction="+muster.AdvisoryMessageID(a.ID)); n != a.Queued {
			t.Fatalf("%d advisory messages in the outbox, %d said queued", n, a.Queued)
		}
		// Its CAP, public, reads back as the same advisory.
		resp, capXML := e.request("", "GET", "/api/advisories/"+a.ID+".xml", nil, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaCAP {
			t.Fatalf("CAP: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		d, err := advisory.Read(bytes.NewReader(capXML))
		if err != nil || d.Advisory.ID != a.ID || d.Advisory.Severity != "Extreme" || len(d.Advisory.Texts) != 3 || len(d.Advisory.Area.Polygons) != 1 {
			t.Fatalf("CAP read back: %+v, %v", d, err)
		}
		var list advisoriesResponse
		e.do("viewer", "GET", "/api/advisories", nil, 200, &list)
		if len(list.Advisories) != 1 || list.Advisories[0].Recipients != a.Recipients {
			t.Fatalf("list: %+v", list)
		}
		// A zone of the threat picture now.
		rep := `{"id":"fire-1","received_at":"2021-08-26T04:50:00Z","source":{"id":"field-team","kind":"field"},"reliability":"A","credibility":1,"kind":"explosion","claim":"present","likelihood":"almost certain","immediacy":"imminent","severity":5,"area":{"point":[%f,%f],"radius_m":2000},"text":"fire"}`
		k := testCity(t)
		c := k.footGraph.NodePoint(uint32(k.footGraph.NumNodes() / 2))
		e.do("field", "POST", "/api/reports", []byte(fmt.Sprintf(rep, c[0], c[1])), 201, nil)
		var fc struct {
			Features []struct {
				Properties struct {
					ID string `json:"id"`
				} `json:"properties"`
			} `json:"features"`
		}
		e.do("viewer", "GET", "/api/threats?at=2021-08-26T05:00:00Z", nil, 200, &fc)
		if len(fc.Features) == 0 {
			t.Fatal("no zone in the threat picture")
		}
		var z advisoryOut
		e.do("planner", "POST", "/api/advisories", []byte(`{"canned":"shelter-in-place","area_name":"the market","zone":"`+fc.Features[0].Properties.ID+`"}`), 201, &z)
		if z.Recipients == 0 {
			t.Fatalf("a zone of 2 km reaches no one: %+v", z)
		}
		e.do("planner", "POST", "/api/advisories", []byte(`{"canned":"shelter-in-place","area_name":"x","zone":"no-such-zone"}`), 404, nil)
		e.do("planner", "POST", "/api/advisories", []byte(`{"canned":"all-clear","area_name":"x"}`), 400, nil)

		// Another system's alert: imported by an operator, delivered.
		foreign := d.Advisory
		foreign.ID, foreign.Sender, foreign.Sent = "unhcr-2021-0826-1", "alerts@unhcr.example.org", now.UTC().Truncate(time.Second)
		foreign.Expires = foreign.Sent.Add(6 * time.Hour)
		foreign.Texts = foreign.Texts[:1] // English only: everyone gets English
		var buf bytes.Buffer
		if err := advisory.Encode(&buf, foreign); err != nil {
			t.Fatal(err)
		}
		e.do("field", "POST", "/api/advisories/import", buf.Bytes(), 403, nil)
		resp, body := e.request("planner", "POST", "/api/advisories/import", buf.Bytes(), mediaCAP)
		var imp advisoryOut
		if resp.StatusCode != 201 || json.Unmarshal(body, &imp) != nil || imp.Origin != muster.AdvisoryImported || imp.Recipients != a.Recipients ||
			imp.ByLanguage[muster.LangEnglish] != imp.Recipients {
			t.Fatalf("import: %d %s", resp.StatusCode, body)
		}
		// Under this deployment's own name: refused, whatever it says.
		own := strings.Replace(string(capXML), a.ID, "adv-forged-0001", 1)
		resp, body = e.request("planner", "POST", "/api/advisories/import", []byte(own), mediaCAP)
		if resp.StatusCode != 403 || !strings.Contains(errorOf(t, body).Message, "own name") {
			t.Fatalf("CAP under our own sender: %d %s", resp.StatusCode, body)
		}
		// The same identifier twice: refused.
		resp, _ = e.request("planner", "POST", "/api/advisories/import", buf.Bytes(), mediaCAP)
		if resp.StatusCode != 409 {
			t.Fatalf("an advisory imported twice: %d", resp.StatusCode)
		}
		// Advisories are not instructions to acknowledge.
		var un unackedResponse
		e.do("planner", "GET", "/api/unacknowledged?older_than=0s", nil, 200, &un)
		for _, u := range un.Households {
			if strings.HasPrefix(u.InstructionID, muster.AdvisoryMessagePrefix) {
				t.Fatalf("an advisory listed as unacknowledged: %+v", u)
			}
		}
	})
}

// advisory stores an advisory, straight in the store, and returns its id.
func (e *testEnv) advisory() string {
	e.t.Helper()
	a := muster.AdvisoryRecord{ID: uniq("adv-fixture-"), Sender: "muster@test-deploy", Sent: time.Now(), Status: muster.AdvisoryActual,
		MsgType: muster.AdvisoryAlert, Origin: muster.AdvisoryIssued, CAP: foreignCAP(e.t)}
	if _, err := e.store.SaveAdvisory(muster.WithActor(context.Background(), "fixture"), a, nil); err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

// foreignCAP is another system's alert, each time with a new identifier.
func foreignCAP(t testing.TB) []byte {
	t.Helper()
	a, err := advisory.Canned("avoid-gates", "the airport")
	if err != nil {
		t.Fatal(err)
	}
	a.ID, a.Sender, a.Sent = uniq("ext-"), "alerts@ngo.example.org", time.Now().UTC().Truncate(time.Second)
	a.Area = muster.AdvisoryArea{Circles: []muster.AdvisoryCircle{{Center: orb.Point{69.2, 34.56}, RadiusM: 500}}}
	var buf bytes.Buffer
	if err := advisory.Encode(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ownAdvisory issues an advisory of this deployment through the API (a
// circle near the city) and returns its id: one to update or cancel.
func (e *testEnv) ownAdvisory() string {
	e.t.Helper()
	var a advisoryOut
	e.do("admin", "POST", "/api/advisories", []byte(`{"canned":"avoid-gates","area_name":"the airport","polygon":{"type":"Feature","geometry":{"type":"Point","coordinates":[69.2,34.56]},"properties":{"radius_m":500}}}`), 201, &a)
	return a.ID
}

// capSchemaCheck checks a CAP document against the OASIS schema with
// xmllint (../shared/standards/CAP-v1.2.xsd), as package advisory's tests do.
func capSchemaCheck(t *testing.T, doc []byte) {
	t.Helper()
	schema := testshared.Path(t, "standards/CAP-v1.2.xsd")
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		testshared.Unavailable(t, "xmllint is not installed (apt-get install -y libxml2-utils): CAP output is not checked against the OASIS schema here")
		return
	}
	p := filepath.Join(t.TempDir(), "cap.xml")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--noout", "--nonet", "--schema", schema, p).CombinedOutput(); err != nil {
		t.Fatalf("the schema refuses the CAP: %s %v\n%s", out, err, doc)
	}
}

// TestAdvisoryUpdateAndCancel: a planner updates an advisory (CAP Update
// referencing it, new words, its area kept) and cancels it (CAP Cancel
// referencing it), each delivered to the households in the area and valid
// against the CAP schema; a cancelled advisory cannot be updated or
// cancelled again, another system's cannot be changed here, a field
// officer cannot do either, and an unknown id is 404.
func TestAdvisoryUpdateAndCancel(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 30, &now)
		req := fmt.Sprintf(`{"canned":"avoid-gates","area_name":"the western districts","polygon":%s}`, cityBox(t))
		var a advisoryOut
		e.do("planner", "POST", "/api/advisories", []byte(req), 201, &a)
		readCAP := func(id string) (muster.Advisory, []byte) {
			t.Helper()
			resp, doc := e.request("", "GET", "/api/advisories/"+id+".xml", nil, "")
			if resp.StatusCode != 200 {
				t.Fatalf("CAP of %s: %d", id, resp.StatusCode)
			}
			capSchemaCheck(t, doc)
			d, err := advisory.Read(bytes.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			return d.Advisory, doc
		}
		orig, _ := readCAP(a.ID)

		e.do("field", "POST", "/api/advisories/"+a.ID+"/update", []byte(`{"canned":"shelter-in-place","area_name":"the western districts"}`), 403, nil)
		var up advisoryOut
		e.do("planner", "POST", "/api/advisories/"+a.ID+"/update", []byte(`{"canned":"shelter-in-place","area_name":"the western districts"}`), 201, &up)
		if up.MsgType != muster.AdvisoryUpdate || up.Recipients != a.Recipients || up.Queued != a.Queued || up.ID == a.ID {
			t.Fatalf("update: %+v (the original: %+v)", up, a)
		}
		u, doc := readCAP(up.ID)
		if len(u.References) != 1 || u.References[0] != orig.Ref() || !u.Sent.After(orig.Sent) || len(u.Area.Polygons) != 1 ||
			u.Text(muster.LangEnglish).Headline == orig.Text(muster.LangEnglish).Headline || !bytes.Contains(doc, []byte("<msgType>Update</msgType>")) {
			t.Fatalf("the update's CAP:\n%s", doc)
		}
		if n := outboxCount(e, "&instruction="+muster.AdvisoryMessageID(up.ID)); n != up.Queued {
			t.Fatalf("%d update messages in the outbox, %d said queued", n, up.Queued)
		}

		var c advisoryOut
		e.do("planner", "POST", "/api/advisories/"+a.ID+"/cancel", []byte(`{"note":"the gates are open again"}`), 201, &c)
		cc, doc := readCAP(c.ID)
		if c.MsgType != muster.AdvisoryCancel || c.Recipients != a.Recipients || len(cc.References) != 1 || cc.References[0] != orig.Ref() ||
			cc.Urgency != "Past" || cc.Note != "the gates are open again" || !bytes.Contains(doc, []byte("<msgType>Cancel</msgType>")) {
			t.Fatalf("the cancellation: %+v\n%s", c, doc)
		}
		if n := outboxCount(e, "&instruction="+muster.AdvisoryMessageID(c.ID)); n != c.Queued || n == 0 {
			t.Fatalf("%d cancellation messages in the outbox, %d said queued", n, c.Queued)
		}
		// Once cancelled, final.
		e.do("planner", "POST", "/api/advisories/"+a.ID+"/cancel", []byte(`{}`), 409, nil)
		e.do("planner", "POST", "/api/advisories/"+a.ID+"/update", []byte(`{"canned":"all-clear","area_name":"x"}`), 409, nil)
		e.do("planner", "POST", "/api/advisories/"+c.ID+"/cancel", []byte(`{}`), 409, nil)
		e.do("planner", "POST", "/api/advisories/adv-no-such/cancel", []byte(`{}`), 404, nil)

		// Another system's advisory is that system's to change.
		foreign := orig
		foreign.ID, foreign.Sender, foreign.Sent = "unhcr-2021-0826-9", "alerts@unhcr.example.org", now.UTC().Truncate(time.Second)
		foreign.Expires = foreign.Sent.Add(6 * time.Hour)
		var buf bytes.Buffer
		if err := advisory.Encode(&buf, foreign); err != nil {
			t.Fatal(err)
		}
		var imp advisoryOut
		resp, body := e.request("planner", "POST", "/api/advisories/import", buf.Bytes(), mediaCAP)
		if resp.StatusCode != 201 || json.Unmarshal(body, &imp) != nil {
			t.Fatalf("import: %d %s", resp.StatusCode, body)
		}
		e.do("planner", "POST", "/api/advisories/"+imp.ID+"/cancel", []byte(`{}`), 403, nil)
	})
}
