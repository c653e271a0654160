// Package realdata holds the roadgraph tests and benchmarks that run on the
// real OSM extracts in ../shared/data (Porto is the scale benchmark). They
// live apart from package roadgraph because they need the OSM importer,
// which imports roadgraph: kept here, roadgraph's own tests and fuzzing
// build and run without it (and while it is being changed).
package realdata
