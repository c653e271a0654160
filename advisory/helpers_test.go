package advisory

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/testshared"
)

var sent = time.Date(2021, 8, 26, 14, 0, 0, 0, time.UTC)

// airport is a polygon around Kabul airport, lon/lat, closed.
var airport = orb.Ring{{69.18, 34.562}, {69.2, 34.5555}, {69.23, 34.5575}, {69.236, 34.566}, {69.225, 34.5745}, {69.195, 34.5745}, {69.18, 34.568}, {69.18, 34.562}}

// sample returns a valid avoid-gates advisory over the airport polygon.
func sample(t testing.TB) muster.Advisory {
	t.Helper()
	a, err := Canned("avoid-gates", "Hamid Karzai International Airport")
	if err != nil {
		t.Fatal(err)
	}
	a.ID = "adv-0001"
	a.Sender = "muster@kabul.example.org"
	a.Sent = sent
	a.Expires = sent.Add(24 * time.Hour)
	a.Area = muster.AdvisoryArea{Polygons: []orb.Polygon{{airport}}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	return a
}

func encode(t testing.TB, a muster.Advisory) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, a); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b.Bytes()
}

// xmllint returns the path of xmllint and of the CAP 1.2 schema in
// ../shared/standards. Without xmllint the test is skipped, except in CI
// (CI=true), which must validate against the schema: there it fails.
func xmllint(t *testing.T) (bin, schema string) {
	t.Helper()
	schema = testshared.Path(t, "standards/CAP-v1.2.xsd")
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		testshared.Unavailable(t, "xmllint is not installed (apt-get install -y libxml2-utils): CAP output is not checked against the OASIS schema here; CI checks it")
	}
	return bin, schema
}

// schemaCheck runs xmllint --schema on the document and returns its
// complaint, or "" when the schema accepts it.
func schemaCheck(t *testing.T, bin, schema string, name string, doc []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", schema, p).CombinedOutput()
	if err != nil {
		return string(out) + err.Error()
	}
	return ""
}
