package advisory

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/muster-evac/muster"
)

// The canned advisories' words live in one message catalog per language
// (catalog/en.json, fa.json, ps.json), embedded in the binary. The Dari and
// Pashto catalogs were drafted by muster's developers: a native speaker
// must review them before an operation. A test fails when a message lacks
// a translation or a translation drops or adds a placeholder.
//
//go:embed catalog/*.json
var catalogFS embed.FS

// placeholder is the one placeholder the catalogs use: the area's name as
// the operator gives it.
const placeholder = "{area}"

// cannedKind is a canned advisory's classification, the same in every
// language.
type cannedKind struct {
	key                          string
	categories, responseTypes    []string
	urgency, severity, certainty string
}

// cannedKinds lists the canned advisories in the order CannedKeys gives
// them; "cancel" is Cancel's, not one to issue on its own.
var cannedKinds = []cannedKind{
	{"avoid-gates", []string{"Security", "Safety"}, []string{"Avoid"}, "Immediate", "Severe", "Likely"},
	{"shelter-in-place", []string{"Safety", "Security"}, []string{"Shelter"}, "Immediate", "Severe", "Likely"},
	{"all-clear", []string{"Safety"}, []string{"AllClear"}, "Past", "Minor", "Observed"},
}

const cancelKey = "cancel"

// message is one canned advisory's words in one language.
type message struct {
	Event       string `json:"event"`
	Headline    string `json:"headline"`
	Description string `json:"description"`
	Instruction string `json:"instruction"`
	Area        string `json:"area"`
}

type catalogFile struct {
	Language string             `json:"language"`
	Note     string             `json:"note"`
	Messages map[string]message `json:"messages"`
}

// catalogs maps a language to its messages by key.
var catalogs = sync.OnceValues(func() (map[string]map[string]message, error) {
	out := map[string]map[string]message{}
	for _, lang := range muster.Languages {
		name := "catalog/" + lang + ".json"
		data, err := catalogFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("advisory catalog %s: %w", name, err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var f catalogFile
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("advisory catalog %s: %w", name, err)
		}
		if f.Language != lang {
			return nil, fmt.Errorf("advisory catalog %s: says it is in %q", name, f.Language)
		}
		out[lang] = f.Messages
	}
	return out, nil
})

// CannedKeys lists the canned advisories: avoid-gates, shelter-in-place,
// all-clear.
func CannedKeys() []string {
	out := make([]string, len(cannedKinds))
	for i, k := range cannedKinds {
		out[i] = k.key
	}
	return out
}

// Canned returns the canned advisory key for the area named areaName (as
// people know it: "Hamid Karzai International Airport"), in English, Dari
// and Pashto, with its classification, status Actual, type Alert and scope
// Public. The caller sets the identifier, sender, sent time, expiry and the
// area's geometry, and may change urgency, severity and certainty, then
// validates it.
func Canned(key, areaName string) (muster.Advisory, error) {
	i := slices.IndexFunc(cannedKinds, func(k cannedKind) bool { return k.key == key })
	if i < 0 {
		return muster.Advisory{}, muster.Errorf(muster.EINVALID, "canned advisory %q: want one of %s", key, strings.Join(CannedKeys(), ", "))
	}
	k := cannedKinds[i]
	texts, err := cannedTexts(key, areaName)
	if err != nil {
		return muster.Advisory{}, err
	}
	return muster.Advisory{
		Status:        muster.AdvisoryActual,
		MsgType:       muster.AdvisoryAlert,
		Scope:         muster.AdvisoryPublic,
		Categories:    slices.Clone(k.categories),
		ResponseTypes: slices.Clone(k.responseTypes),
		Urgency:       k.urgency,
		Severity:      k.severity,
		Certainty:     k.certainty,
		Texts:         texts,
	}, nil
}

// Cancel returns the cancellation of prev, identified by id and sent at
// sent: the same area and categories, urgency Past and response None (no
// action is needed any more), and the catalog's words saying that the
// earlier advisory for areaName no longer applies, in each of prev's
// languages. The server sends it to those prev reached.
func Cancel(prev muster.Advisory, id string, sent time.Time, areaName, note string) (muster.Advisory, error) {
	if !prev.HasInfo() {
		return muster.Advisory{}, muster.Errorf(muster.EINVALID, "advisory %s is itself a cancellation without text: there is nothing to cancel", prev.ID)
	}
	texts, err := cannedTexts(cancelKey, areaName)
	if err != nil {
		return muster.Advisory{}, err
	}
	texts = slices.DeleteFunc(texts, func(t muster.AdvisoryText) bool { return prev.Text(t.Language) == nil })
	c := muster.Advisory{
		ID:            id,
		Sender:        prev.Sender,
		Sent:          sent,
		Status:        prev.Status,
		MsgType:       muster.AdvisoryCancel,
		References:    []muster.AdvisoryRef{prev.Ref()},
		Scope:         muster.AdvisoryPublic,
		Note:          note,
		Categories:    slices.Clone(prev.Categories),
		ResponseTypes: []string{"None"},
		Urgency:       "Past",
		Severity:      prev.Severity,
		Certainty:     prev.Certainty,
		Texts:         texts,
		Area:          prev.Area,
	}
	if err := c.Validate(); err != nil {
		return muster.Advisory{}, err
	}
	return c, nil
}

func cannedTexts(key, areaName string) ([]muster.AdvisoryText, error) {
	if strings.TrimSpace(areaName) == "" {
		return nil, muster.Errorf(muster.EINVALID, "area name: missing: say in words where the advisory applies (\"Abbey Gate\")")
	}
	cats, err := catalogs()
	if err != nil {
		return nil, err
	}
	var texts []muster.AdvisoryText
	for _, lang := range muster.Languages {
		m, ok := cats[lang][key]
		if !ok {
			return nil, fmt.Errorf("advisory catalog %s.json has no message %q", lang, key)
		}
		fill := func(s string) string { return strings.ReplaceAll(s, placeholder, strings.TrimSpace(areaName)) }
		texts = append(texts, muster.AdvisoryText{
			Language:    lang,
			Event:       fill(m.Event),
			Headline:    fill(m.Headline),
			Description: fill(m.Description),
			Instruction: fill(m.Instruction),
			AreaDesc:    fill(m.Area),
		})
	}
	return texts, nil
}

// NewID returns a new advisory identifier: "adv-" and 24 random hex
// digits, unique without coordination between instances.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "adv-" + hex.EncodeToString(b[:])
}
