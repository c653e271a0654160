package advisory

// The structure of a CAP 1.2 alert as the OASIS schema gives it: each
// element's children in the order the schema's sequences require, with
// how often each may occur. Decode checks every document against it as it
// reads, so an element the schema does not allow is refused where it
// stands, before anything below it is read.

const unbounded = -1

type elemDef struct {
	name     string
	min, max int
	children []elemDef // nil for an element holding text
}

func leaf(name string, min, max int) elemDef { return elemDef{name: name, min: min, max: max} }

func pairDef(name string, min, max int) elemDef {
	return elemDef{name: name, min: min, max: max, children: []elemDef{leaf("valueName", 1, 1), leaf("value", 1, 1)}}
}

var alertDef = elemDef{name: "alert", min: 1, max: 1, children: []elemDef{
	leaf("identifier", 1, 1),
	leaf("sender", 1, 1),
	leaf("sent", 1, 1),
	leaf("status", 1, 1),
	leaf("msgType", 1, 1),
	leaf("source", 0, 1),
	leaf("scope", 1, 1),
	leaf("restriction", 0, 1),
	leaf("addresses", 0, 1),
	leaf("code", 0, unbounded),
	leaf("note", 0, 1),
	leaf("references", 0, 1),
	leaf("incidents", 0, 1),
	{name: "info", min: 0, max: unbounded, children: []elemDef{
		leaf("language", 0, 1),
		leaf("category", 1, unbounded),
		leaf("event", 1, 1),
		leaf("responseType", 0, unbounded),
		leaf("urgency", 1, 1),
		leaf("severity", 1, 1),
		leaf("certainty", 1, 1),
		leaf("audience", 0, 1),
		pairDef("eventCode", 0, unbounded),
		leaf("effective", 0, 1),
		leaf("onset", 0, 1),
		leaf("expires", 0, 1),
		leaf("senderName", 0, 1),
		leaf("headline", 0, 1),
		leaf("description", 0, 1),
		leaf("instruction", 0, 1),
		leaf("web", 0, 1),
		leaf("contact", 0, 1),
		pairDef("parameter", 0, unbounded),
		{name: "resource", min: 0, max: unbounded, children: []elemDef{
			leaf("resourceDesc", 1, 1),
			leaf("mimeType", 1, 1),
			leaf("size", 0, 1),
			leaf("uri", 0, 1),
			leaf("derefUri", 0, 1),
			leaf("digest", 0, 1),
		}},
		{name: "area", min: 0, max: unbounded, children: []elemDef{
			leaf("areaDesc", 1, 1),
			leaf("polygon", 0, unbounded),
			leaf("circle", 0, unbounded),
			pairDef("geocode", 0, unbounded),
			leaf("altitude", 0, 1),
			leaf("ceiling", 0, 1),
		}},
	}},
}}

// childIndex returns the position of name among d's children, or -1.
func (d *elemDef) childIndex(name string) int {
	for i := range d.children {
		if d.children[i].name == name {
			return i
		}
	}
	return -1
}
