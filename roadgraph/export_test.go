package roadgraph

import "testing"

// PortoCityForTest, when set by the external test package (which can import
// osmimport without an import cycle), imports the shared Porto extract, or
// skips the test or benchmark when it is absent.
var PortoCityForTest func(tb testing.TB) *City

func portoCity(tb testing.TB) *City {
	if PortoCityForTest == nil {
		tb.Skip("Porto needs the OSM importer, which this build of the tests lacks")
	}
	return PortoCityForTest(tb)
}
