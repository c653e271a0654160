package instruct

import "github.com/muster-evac/muster"

// msgKey identifies a message of the catalogs. Every message the renderer
// can produce has a key here, and every catalog must have every key (a
// test names the key and language of each missing or unused one).
type msgKey uint16

// The fixed messages.
const (
	kTitle msgKey = iota
	kRecipient
	kGreeting
	kReplaces
	kEscape
	kWhere
	kWhen
	kWhenAt
	kTimezone
	kGroup
	kPeople
	kCodeword
	kWalk
	kDirections
	kStreetUnnamed
	kBringHeading
	kDoNotBringHeading
	kWarning
	kContactPhone
	kContactURL
	kVerify
	kFooter
	kDate
	kDateShort
	kDateTime
	kWindow
	kCoords
	kUnitM
	kUnitKM
	kUnitMin
	kSMSBody
	kSMSUpdate
	kSMSPeople
	kSMSEscort
	kEscortTitle
	kEscortRecipient
	kEscortWhen
	kEscortGroup
	kEscortGate
	kEscortSchedule
	kEscortCodeword
	kToken
	kAck
	kSMSAck
	numFixed
)

// keyDef is what a key's message must hold in every language.
type keyDef struct {
	name         string
	placeholders []string // exactly these, each at least once
	plural       bool     // one message per plural form of the language, chosen by {n}
}

var fixedKeys = [numFixed]keyDef{
	kTitle:             {name: "title"},
	kRecipient:         {name: "recipient", placeholders: []string{"household"}},
	kGreeting:          {name: "greeting", placeholders: []string{"name"}},
	kReplaces:          {name: "replaces", placeholders: []string{"previous"}},
	kEscape:            {name: "escape"},
	kWhere:             {name: "where", placeholders: []string{"rally", "coords"}},
	kWhen:              {name: "when", placeholders: []string{"date", "from", "to"}},
	kWhenAt:            {name: "when_at", placeholders: []string{"date", "time"}},
	kTimezone:          {name: "timezone", placeholders: []string{"zone"}},
	kGroup:             {name: "group", placeholders: []string{"code"}},
	kPeople:            {name: "people", placeholders: []string{"n"}, plural: true},
	kCodeword:          {name: "codeword", placeholders: []string{"word"}},
	kWalk:              {name: "walk", placeholders: []string{"duration", "distance"}},
	kDirections:        {name: "directions"},
	kStreetUnnamed:     {name: "street.unnamed"},
	kBringHeading:      {name: "bring_heading"},
	kDoNotBringHeading: {name: "do_not_bring_heading"},
	kWarning:           {name: "warning"},
	kContactPhone:      {name: "contact.phone", placeholders: []string{"phone"}},
	kContactURL:        {name: "contact.url", placeholders: []string{"url"}},
	kVerify:            {name: "verify", placeholders: []string{"link"}},
	kFooter:            {name: "footer", placeholders: []string{"id", "issued", "expires"}},
	kDate:              {name: "date", placeholders: []string{"weekday", "day", "month"}},
	kDateShort:         {name: "date_short", placeholders: []string{"day", "month"}},
	kDateTime:          {name: "datetime", placeholders: []string{"date", "time"}},
	kWindow:            {name: "window", placeholders: []string{"from", "to"}},
	kCoords:            {name: "coords", placeholders: []string{"lat", "lon"}},
	kUnitM:             {name: "unit.m", placeholders: []string{"n"}},
	kUnitKM:            {name: "unit.km", placeholders: []string{"n"}},
	kUnitMin:           {name: "unit.min", placeholders: []string{"n"}, plural: true},
	kSMSBody:           {name: "sms.body", placeholders: []string{"rally", "date", "window", "code", "people", "word", "link"}},
	kSMSUpdate:         {name: "sms.update"},
	kSMSPeople:         {name: "sms.people", placeholders: []string{"n"}, plural: true},
	kSMSEscort:         {name: "sms.escort", placeholders: []string{"code", "rally", "date", "time", "departure", "gate", "link"}},
	kEscortTitle:       {name: "escort.title"},
	kEscortRecipient:   {name: "escort.recipient", placeholders: []string{"code"}},
	kEscortWhen:        {name: "escort.when", placeholders: []string{"date", "from", "to"}},
	kEscortGroup:       {name: "escort.group", placeholders: []string{"households", "people"}},
	kEscortGate:        {name: "escort.gate", placeholders: []string{"gate", "coords"}},
	kEscortSchedule:    {name: "escort.schedule", placeholders: []string{"departure", "arrival", "through"}},
	kEscortCodeword:    {name: "escort.codeword", placeholders: []string{"en", "fa", "ps"}},
	kToken:             {name: "token", placeholders: []string{"token"}},
	kAck:               {name: "ack", placeholders: []string{"code"}},
	kSMSAck:            {name: "sms.ack", placeholders: []string{"code"}},
}

// Compass points, clockwise from north, 45° apart.
var compassPoints = []string{"n", "ne", "e", "se", "s", "sw", "w", "nw"}

// BringItems are the things an instruction can ask people to bring: its
// Bring list holds their catalog keys, "bring." + item.
var BringItems = []string{"documents", "water_food", "medicine", "phone", "warm_clothes", "medical_records", "this_message"}

// DoNotBringItems are the things an instruction can ask people not to
// bring: its DoNotBring list holds their catalog keys, "no." + item.
var DoNotBringItems = []string{"weapons", "large_bags", "vehicle"}

// CodeWords is the word list code words are drawn from: concrete things
// every language names in a word or two, none of them a street-name part
// or a word of the instructions themselves (no "gate", "garden",
// "bridge"). An instruction's CodeWord is one of them; its catalog key is
// "word." + the word. Its order is fixed: a code word is an index into it.
var CodeWords = []string{
	"apple", "pomegranate", "grape", "melon", "watermelon", "apricot", "mulberry", "walnut",
	"almond", "onion", "carrot", "rice", "bread", "tea", "honey", "salt",
	"horse", "camel", "lion", "wolf", "sheep", "goat", "cow", "fish",
	"river", "mountain", "moon", "sun", "star", "cloud", "rain", "snow",
	"wind", "tree", "flower", "stone", "key", "window", "book", "pen",
	"cup", "lamp", "carpet", "mirror", "needle", "candle", "bowl", "bell",
	"cherry", "fig", "peach", "orange", "lemon", "cucumber", "potato", "wheat",
	"lake", "forest", "ship", "eagle", "pigeon", "butterfly", "deer", "egg",
}

// The families of keys that follow the fixed ones, and where each starts.
// Package-level initialisation builds them before the catalogs are
// compiled against them.
var (
	keyDefs      = buildKeyDefs()
	stepBase     msgKey // step.<maneuver>, in muster.Maneuvers order
	compassBase  msgKey // compass.<point>
	weekdayBase  msgKey // weekday.0 (Sunday) .. weekday.6
	monthBase    msgKey // month.1 .. month.12
	codeWordBase msgKey // word.<word>
)

// stepPlaceholders are those of each maneuver's message.
func stepPlaceholders(maneuver string) []string {
	switch maneuver {
	case muster.ManeuverDepart:
		return []string{"compass", "street", "distance"}
	case muster.ManeuverArrive:
		return []string{"rally"}
	}
	return []string{"street", "distance"}
}

func buildKeyDefs() []keyDef {
	keyDefs := append([]keyDef(nil), fixedKeys[:]...)
	family := func(prefix string, names []string, ph func(string) []string) msgKey {
		base := msgKey(len(keyDefs))
		for _, n := range names {
			var p []string
			if ph != nil {
				p = ph(n)
			}
			keyDefs = append(keyDefs, keyDef{name: prefix + n, placeholders: p})
		}
		return base
	}
	stepBase = family("step.", muster.Maneuvers, stepPlaceholders)
	compassBase = family("compass.", compassPoints, nil)
	weekdayBase = family("weekday.", []string{"0", "1", "2", "3", "4", "5", "6"}, nil)
	monthBase = family("month.", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}, nil)
	family("bring.", BringItems, nil) // found by name: an instruction holds the keys
	family("no.", DoNotBringItems, nil)
	codeWordBase = family("word.", CodeWords, nil)
	return keyDefs
}

// keyByName finds a key by its name.
var keyByName = func() map[string]msgKey {
	m := make(map[string]msgKey, len(keyDefs))
	for i, d := range keyDefs {
		m[d.name] = msgKey(i)
	}
	return m
}()

// codeWordIndex finds a code word's place in CodeWords.
var codeWordIndex = func() map[string]int {
	m := make(map[string]int, len(CodeWords))
	for i, w := range CodeWords {
		m[w] = i
	}
	return m
}()

// stepKey returns the message key of a maneuver, false for an unknown one.
func stepKey(maneuver string) (msgKey, bool) {
	for i, m := range muster.Maneuvers {
		if m == maneuver {
			return stepBase + msgKey(i), true
		}
	}
	return 0, false
}
