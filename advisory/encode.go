package advisory

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/muster-evac/muster"
)

// The XML shapes Encode writes, in the schema's order.
type xmlAlert struct {
	XMLName    xml.Name  `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier string    `xml:"identifier"`
	Sender     string    `xml:"sender"`
	Sent       string    `xml:"sent"`
	Status     string    `xml:"status"`
	MsgType    string    `xml:"msgType"`
	Scope      string    `xml:"scope"`
	Note       string    `xml:"note,omitempty"`
	References string    `xml:"references,omitempty"`
	Info       []xmlInfo `xml:"info"`
}

type xmlInfo struct {
	Language     string    `xml:"language"`
	Category     []string  `xml:"category"`
	Event        string    `xml:"event"`
	ResponseType []string  `xml:"responseType"`
	Urgency      string    `xml:"urgency"`
	Severity     string    `xml:"severity"`
	Certainty    string    `xml:"certainty"`
	Effective    string    `xml:"effective,omitempty"`
	Onset        string    `xml:"onset,omitempty"`
	Expires      string    `xml:"expires,omitempty"`
	Headline     string    `xml:"headline,omitempty"`
	Description  string    `xml:"description,omitempty"`
	Instruction  string    `xml:"instruction,omitempty"`
	Area         []xmlArea `xml:"area"`
}

type xmlArea struct {
	AreaDesc string       `xml:"areaDesc"`
	Polygon  []string     `xml:"polygon"`
	Circle   []string     `xml:"circle"`
	Geocode  []xmlGeocode `xml:"geocode"`
}

type xmlGeocode struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

// Encode writes the advisory as a CAP 1.2 alert, after validating it: one
// <info> per language, each with the same classification, times and area.
// A polygon's holes and the threat-picture zone an area came from are
// written as muster's own geocodes (docs/advisories.md).
func Encode(w io.Writer, a muster.Advisory) error {
	if err := a.Validate(); err != nil {
		return err
	}
	doc := xmlAlert{
		Identifier: a.ID,
		Sender:     a.Sender,
		Sent:       formatTime(a.Sent),
		Status:     a.Status,
		MsgType:    a.MsgType,
		Scope:      a.Scope,
		Note:       a.Note,
	}
	refs := make([]string, len(a.References))
	for i, r := range a.References {
		refs[i] = formatRef(r)
	}
	doc.References = strings.Join(refs, " ")
	area := encodeArea(a.Area)
	for _, t := range a.Texts {
		in := xmlInfo{
			Language:     capLanguage(t.Language),
			Category:     a.Categories,
			Event:        t.Event,
			ResponseType: a.ResponseTypes,
			Urgency:      a.Urgency,
			Severity:     a.Severity,
			Certainty:    a.Certainty,
			Headline:     t.Headline,
			Description:  t.Description,
			Instruction:  t.Instruction,
		}
		if !a.Effective.IsZero() {
			in.Effective = formatTime(a.Effective)
		}
		if !a.Onset.IsZero() {
			in.Onset = formatTime(a.Onset)
		}
		if !a.Expires.IsZero() {
			in.Expires = formatTime(a.Expires)
		}
		ar := area
		ar.AreaDesc = t.AreaDesc
		in.Area = []xmlArea{ar}
		doc.Info = append(doc.Info, in)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing CAP: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing CAP: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("writing CAP: %w", err)
	}
	return nil
}

func encodeArea(ar muster.AdvisoryArea) xmlArea {
	var x xmlArea
	for i, p := range ar.Polygons {
		x.Polygon = append(x.Polygon, formatRing(p[0]))
		for _, h := range p[1:] {
			x.Geocode = append(x.Geocode, xmlGeocode{ValueName: geocodeHole, Value: strconv.Itoa(i) + " " + formatRing(h)})
		}
	}
	for _, c := range ar.Circles {
		x.Circle = append(x.Circle, formatCircle(c))
	}
	if ar.ZoneID != "" {
		x.Geocode = append(x.Geocode, xmlGeocode{ValueName: geocodeZone, Value: ar.ZoneID})
	}
	return x
}
