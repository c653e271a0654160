// Package realdata holds the roadgraph tests and benchmarks that run on the
// real OSM extracts in ../shared/data (Porto is the scale benchmark). They
// live apart from package roadgraph so that its own tests, and above all its
// fuzzing, do not link the OSM importer: with the importer in the binary,
// coverage-instrumented fuzzing of the graph file ran a thousand times slower.
package realdata
