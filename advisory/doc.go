// Package advisory turns muster.Advisory, a public broadcast to everyone
// registered inside an area, into CAP 1.2 (the OASIS Common Alerting
// Protocol) and back, builds advisories from a small catalog of canned
// messages in English, Dari and Pashto, takes an advisory's area from a
// threat-picture zone, and finds the households an advisory reaches.
//
// Encode writes CAP 1.2 XML that the OASIS schema accepts: one <info> per
// language, polygons as "lat,lon" pairs (CAP's order, the reverse of
// GeoJSON's), circles as "lat,lon radius_km", and times with a numeric UTC
// offset (CAP forbids "Z"). Decode reads CAP 1.2 from muster or any other
// system strictly: a size limit, no DOCTYPE (hence no entities), no element
// or namespace the schema does not allow, and every error names the element,
// its line and why. What a foreign alert carries that muster does not keep
// (event codes, parameters, resources, geocodes, info blocks in other
// languages) is listed by Read, never silently taken as something else.
//
// The package is pure: no storage, no network. docs/advisories.md is the
// operator's guide and the field-by-field CAP mapping.
package advisory
