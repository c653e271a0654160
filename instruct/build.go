package instruct

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// Options say how instructions are built from a plan.
type Options struct {
	// Secret is the deployment's secret (16 bytes or more) from which
	// group codes and code words are derived: unguessable without it, the
	// same from the same secret.
	Secret []byte
	// Epoch names the code space: a new epoch gives every group a new code
	// and every rally point a new code word (after a code word leaked, or
	// for a new operation). Default "1".
	Epoch string
	// PlanID names the plan instructions are built from (its id in the
	// store); default "plan-" and its created_at.
	PlanID string
	// TimeZone is the IANA zone times are told in (the places file's);
	// default UTC.
	TimeZone string
	// DefaultLanguage is for households whose language muster does not
	// write (each is logged); default English.
	DefaultLanguage string
	// EscortLanguage is the language of escorts' instructions; default
	// DefaultLanguage.
	EscortLanguage string
	// Escorts: also build one instruction per group for its escort, who
	// alone is told the gate.
	Escorts bool
	// Contact is whom to ask: in every instruction.
	Contact muster.Contact
	// Bring and DoNotBring are catalog keys ("bring.documents",
	// "no.weapons"); default DefaultBring and DefaultDoNotBring. A
	// household with a medical priority is also asked to bring its
	// medical records.
	Bring, DoNotBring []string
	// ReportWindow is how long before its report-by time a household may
	// arrive at its rally point; default 20 minutes. It is shortened where
	// early arrivals would put more people at the rally point than it
	// holds, before it opens, or before a household can walk there.
	ReportWindow time.Duration
	// ExpiryMargin is how long after its group is through the gate an
	// instruction stays valid (rounded up to the hour); default 12 hours.
	ExpiryMargin time.Duration
	// IssuedAt is when the instructions are issued; default now.
	IssuedAt time.Time
	// AllowProposed builds from a plan not yet approved (to preview it):
	// instructions that go out come from the current plan only.
	AllowProposed bool
	// Logger is told of households whose language is unknown and other
	// things an operator should know; default slog.Default().
	Logger *slog.Logger

	// Resign, if set, names the instructions in force that Reissue issues
	// again though nothing in them changed (muster.ChangedSignature): the
	// issuer's answer to a revoked signing key.
	Resign func(in *muster.Instruction) bool
	// groupCodes are codes to keep: a group's code from the instructions a
	// re-issue starts from.
	groupCodes map[string]string
}

// Defaults of what to bring and what not to.
var (
	DefaultBring      = []string{"bring.documents", "bring.water_food", "bring.medicine", "bring.phone", "bring.this_message"}
	DefaultDoNotBring = []string{"no.weapons", "no.large_bags", "no.vehicle"}
)

// MinSecretBytes is the shortest deployment secret accepted.
const MinSecretBytes = 16

func (o Options) withDefaults() (Options, error) {
	if len(o.Secret) < MinSecretBytes {
		return o, muster.Errorf(muster.EINVALID, "instructions: a deployment secret of %d bytes or more is needed for group codes and code words (got %d)", MinSecretBytes, len(o.Secret))
	}
	if o.Epoch == "" {
		o.Epoch = "1"
	}
	if o.DefaultLanguage == "" {
		o.DefaultLanguage = muster.LangEnglish
	}
	if o.EscortLanguage == "" {
		o.EscortLanguage = o.DefaultLanguage
	}
	for _, l := range []string{o.DefaultLanguage, o.EscortLanguage} {
		if _, err := catalogFor(l); err != nil {
			return o, fmt.Errorf("instructions: %w", err)
		}
	}
	if o.Bring == nil {
		o.Bring = DefaultBring
	}
	if o.DoNotBring == nil {
		o.DoNotBring = DefaultDoNotBring
	}
	for _, l := range []struct {
		prefix string
		keys   []string
	}{{"bring.", o.Bring}, {"no.", o.DoNotBring}} {
		for _, k := range l.keys {
			if _, ok := keyByName[k]; !ok || !strings.HasPrefix(k, l.prefix) {
				return o, muster.Errorf(muster.EINVALID, "instructions: %q is not a %s item of the catalogs (they have: %s)", k, strings.TrimSuffix(l.prefix, "."), strings.Join(itemKeys(l.prefix), ", "))
			}
		}
	}
	if o.ReportWindow <= 0 {
		o.ReportWindow = 20 * time.Minute
	}
	if o.ExpiryMargin <= 0 {
		o.ExpiryMargin = 12 * time.Hour
	}
	if o.IssuedAt.IsZero() {
		o.IssuedAt = time.Now()
	}
	o.IssuedAt = o.IssuedAt.UTC().Truncate(time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if _, err := zone(o.TimeZone); err != nil {
		return o, fmt.Errorf("instructions: %w", err)
	}
	return o, nil
}

func itemKeys(prefix string) []string {
	items := BringItems
	if prefix == "no." {
		items = DoNotBringItems
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = prefix + it
	}
	return out
}

// Build makes the instructions of a plan: one for every household it
// assigns (version 1), and with Options.Escorts one for every group's
// escort, sorted by series. households are the evacuee records (for each
// household's language and name); streets, if not nil, gives walking
// directions with street names from the foot network the plan was made on.
// The plan must be current (approved) unless Options.AllowProposed.
func Build(p *plan.Plan, households []muster.Household, streets *Streets, opts Options) ([]muster.Instruction, error) {
	b, err := newBuilder(p, households, streets, opts)
	if err != nil {
		return nil, err
	}
	return b.build()
}

type builder struct {
	p       *plan.Plan
	o       Options
	streets *Streets
	planID  string
	loc     *time.Location
	hh      map[string]*muster.Household
	groups  map[string]*plan.Group
	rallies map[string]*plan.RallyPoint
	gates   map[string]*plan.Gate
	codes   map[string]string    // group id -> code
	words   map[string]string    // rally point id -> code word
	from    map[string]time.Time // group id -> earliest arrival at the rally point
}

func newBuilder(p *plan.Plan, households []muster.Household, streets *Streets, opts Options) (*builder, error) {
	if p == nil {
		return nil, muster.Errorf(muster.EINVALID, "instructions: no plan")
	}
	if p.Status != muster.PlanCurrent && !opts.AllowProposed {
		return nil, muster.Errorf(muster.EINVALID, "instructions: the plan of %s is %s: instructions come from the current plan only (approve it first)", p.CreatedAt.Format(time.RFC3339), p.Status)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	loc, _ := zone(o.TimeZone)
	b := &builder{p: p, o: o, streets: streets, loc: loc, planID: o.PlanID,
		hh: make(map[string]*muster.Household, len(households)), groups: make(map[string]*plan.Group, len(p.Groups)),
		rallies: make(map[string]*plan.RallyPoint, len(p.RallyPoints)), gates: make(map[string]*plan.Gate, len(p.Gates))}
	if b.planID == "" {
		b.planID = "plan-" + p.CreatedAt.UTC().Format("20060102T150405Z")
	}
	// Side by side: the indexes, the group codes (an HMAC a group) and
	// the report windows each take a tenth of a second or more at
	// 100,000 households.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range households {
			b.hh[households[i].ID] = &households[i]
		}
	})
	wg.Go(func() {
		for i := range p.Groups {
			b.groups[p.Groups[i].ID] = &p.Groups[i]
		}
		b.words = make(map[string]string, len(p.RallyPoints))
		for i := range p.RallyPoints {
			b.rallies[p.RallyPoints[i].ID] = &p.RallyPoints[i]
			b.words[p.RallyPoints[i].ID] = codeWord(o.Secret, o.Epoch, p.RallyPoints[i].ID)
		}
		for i := range p.Gates {
			b.gates[p.Gates[i].ID] = &p.Gates[i]
		}
		b.codes = groupCodes(p.Groups, o.Secret, o.Epoch, o.groupCodes)
	})
	b.from, err = reportWindows(p, loc, o.ReportWindow)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (b *builder) build() ([]muster.Instruction, error) {
	out := make([]muster.Instruction, b.count())
	if err := b.buildInto(func(i int) *muster.Instruction { return &out[i] }); err != nil {
		return nil, err
	}
	return out, nil
}

// count is how many instructions the plan makes.
func (b *builder) count() int {
	n := len(b.p.Households)
	if b.o.Escorts {
		n += len(b.p.Groups)
	}
	return n
}

// order returns where each instruction goes in series order: the
// households' (0 to len(Households)-1) and then the escorts', the
// escorts' ("E-...") first, each kind in id order. Placing each as it is
// built spares sorting 100,000 instructions of half a kilobyte each.
func (b *builder) order() []int32 {
	nh, n := len(b.p.Households), b.count()
	byID := func(ids func(int) string, k int) []int32 {
		idx := make([]int32, k)
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(x, y int32) int { return cmp.Compare(ids(int(x)), ids(int(y))) })
		return idx
	}
	pos := make([]int32, n)
	escorts := n - nh
	for rank, i := range byID(func(i int) string { return b.p.Groups[i].ID }, escorts) {
		pos[nh+int(i)] = int32(rank)
	}
	for rank, i := range byID(func(i int) string { return b.p.Households[i].ID }, nh) {
		pos[i] = int32(escorts + rank)
	}
	return pos
}

// buildInto builds every instruction of the plan into at(i), i in series
// order (0 to count()-1).
func (b *builder) buildInto(at func(i int) *muster.Instruction) error {
	nh, n := len(b.p.Households), b.count()
	pos := b.order()
	// Built on every core: 100,000 households' walking directions are
	// seconds of work, and each instruction depends on the plan alone.
	// Each worker takes chunks in turn and keeps its own tallies; the
	// first error by position is the one reported, as a loop would.
	const chunk = 256
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	type tally struct {
		unknownLang      map[string]int
		missing, expired int
	}
	tallies := make([]tally, workers)
	errs := make([]error, (n+chunk-1)/chunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		t := &tallies[w]
		t.unknownLang = map[string]int{}
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= len(errs) {
					return
				}
				for i := c * chunk; i < min((c+1)*chunk, n); i++ {
					var err error
					in := at(int(pos[i]))
					if i < nh {
						err = b.household(in, &b.p.Households[i], t.unknownLang, &t.missing)
					} else {
						err = b.escort(in, &b.p.Groups[i-nh])
					}
					if err != nil {
						errs[c] = err
						break
					}
					if !in.ExpiresAt.After(in.IssuedAt) {
						t.expired++
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	unknownLang := map[string]int{}
	missing, expired := 0, 0
	for _, t := range tallies {
		for lang, k := range t.unknownLang {
			unknownLang[lang] += k
		}
		missing += t.missing
		expired += t.expired
	}
	for lang, n := range unknownLang {
		if lang == "" {
			lang = "(none given)"
		}
		b.o.Logger.Warn("households in a language muster does not write get the default language", "language", lang, "households", n, "default", b.o.DefaultLanguage)
	}
	if expired > 0 {
		b.o.Logger.Warn("instructions expire before they are issued: their groups are through already (or the issue time is wrong)", "instructions", expired, "issued_at", b.o.IssuedAt)
	}
	if missing > 0 {
		b.o.Logger.Warn("households of the plan missing from the evacuee list: their instructions have no name and the default language", "households", missing)
	}
	return nil
}

// base fills in with what every instruction of the plan has. The
// builders write in place: an instruction is half a kilobyte, and each
// copy of 133,100 of them costs.
func (b *builder) base(in *muster.Instruction, audience, id, lang string, g *plan.Group) error {
	r := b.rallies[g.RallyPoint]
	if r == nil {
		return muster.Errorf(muster.EINVALID, "instructions: group %s meets at rally point %s, which the plan does not list", g.ID, g.RallyPoint)
	}
	series := muster.InstructionSeries(audience, id)
	*in = muster.Instruction{
		ID: muster.InstructionID(series, 1), Series: series, Version: 1,
		IssuedAt: b.o.IssuedAt, ExpiresAt: ceilHour(g.Through.Add(b.o.ExpiryMargin)),
		Plan: b.planID, PlanCreatedAt: b.p.CreatedAt.UTC(), Catalog: CatalogFingerprint(),
		Audience: audience, Language: lang, TimeZone: b.loc.String(),
		RallyPoint: muster.InstructionPlace{ID: r.ID, Name: cleanData(r.Name, maxNameRunes), Lat: r.Lat, Lon: r.Lon},
		ReportFrom: b.from[g.ID].UTC(), ReportBy: g.ReportBy.UTC(),
		Group: g.ID, GroupCode: b.codes[g.ID], People: g.People,
		CodeWord: b.words[r.ID],
		Contact:  muster.Contact{Phone: cleanData(b.o.Contact.Phone, maxLinkRunes), URL: cleanData(b.o.Contact.URL, maxLinkRunes)},
	}
	return nil
}

func (b *builder) household(in *muster.Instruction, h *plan.Household, unknownLang map[string]int, missing *int) error {
	g := b.groups[h.Group]
	if g == nil {
		return muster.Errorf(muster.EINVALID, "instructions: household %s is in group %s, which the plan does not list", h.ID, h.Group)
	}
	rec := b.hh[h.ID]
	lang, name := b.o.DefaultLanguage, ""
	if rec == nil {
		*missing++
	} else {
		if _, _, ok := LanguageTag(rec.Language); ok {
			lang = rec.Language
		} else {
			unknownLang[rec.Language]++
		}
		name = rec.Name
		if lang != muster.LangEnglish && strings.TrimSpace(rec.NameLocal) != "" {
			name = rec.NameLocal
		}
	}
	if err := b.base(in, muster.AudienceHousehold, h.ID, lang, g); err != nil {
		return err
	}
	in.Household = h.ID
	in.Name = cleanData(name, maxNameRunes)
	in.People = h.People
	in.Walk = muster.Walk{DurationS: int(math.Ceil(h.Walk.DurationS)), DistanceM: int(math.Round(h.Walk.DistanceM)), Escape: h.Walk.Escape}
	if line, ok := walkLine(h.Walk); ok && b.streets != nil {
		in.Walk.Steps = b.streets.Directions(line)
		for i := range in.Walk.Steps {
			in.Walk.Steps[i].Street = cleanData(in.Walk.Steps[i].Street, maxNameRunes)
		}
	}
	// Nobody can be there before the operation starts and the walk is done.
	if earliest := b.p.Params.Start.Add(time.Duration(in.Walk.DurationS) * time.Second); in.ReportFrom.Before(earliest) {
		in.ReportFrom = minTime(earliest, in.ReportBy).UTC()
	}
	in.Bring = append(make([]string, 0, len(b.o.Bring)+1), b.o.Bring...) // room for the medical records
	if h.Priority == muster.PriorityMedical && !slices.Contains(in.Bring, "bring.medical_records") {
		in.Bring = append(in.Bring, "bring.medical_records")
	}
	in.DoNotBring = slices.Clone(b.o.DoNotBring)
	return nil
}

func (b *builder) escort(in *muster.Instruction, g *plan.Group) error {
	gate := b.gates[g.Gate]
	if gate == nil {
		return muster.Errorf(muster.EINVALID, "instructions: group %s goes to gate %s, which the plan does not list", g.ID, g.Gate)
	}
	if err := b.base(in, muster.AudienceEscort, g.ID, b.o.EscortLanguage, g); err != nil {
		return err
	}
	in.Escort = &muster.EscortBrief{
		Gate:      muster.InstructionPlace{ID: gate.ID, Name: cleanData(gate.Name, maxNameRunes), Lat: gate.Lat, Lon: gate.Lon},
		Departure: g.Departure.UTC(), Arrival: g.Arrival.UTC(), Through: g.Through.UTC(), Households: len(g.Households),
	}
	return nil
}

func walkLine(r plan.Route) (orb.LineString, bool) {
	if r.Geometry == nil {
		return nil, false
	}
	line, ok := r.Geometry.Coordinates.(orb.LineString)
	return line, ok && len(line) >= 2
}

func ceilHour(t time.Time) time.Time {
	t = t.UTC()
	if h := t.Truncate(time.Hour); !h.Equal(t) {
		return h.Add(time.Hour)
	}
	return t
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Group codes: three and two characters of an alphabet with no 0, O, 1 or
// I, so that no character can be read as another ("K7F-42").
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// groupCodes gives every group a code derived from the secret, the epoch
// and its id, unique in the plan: a group keeps the code it had (keep)
// while no other holds it; a collision takes the next derivation.
func groupCodes(groups []plan.Group, secret []byte, epoch string, keep map[string]string) map[string]string {
	out := make(map[string]string, len(groups))
	taken := map[string]bool{}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	slices.Sort(ids)
	for _, id := range ids {
		if c, ok := keep[id]; ok && c != "" && !taken[c] {
			out[id], taken[c] = c, true
		}
	}
	m := hmac.New(sha256.New, secret)
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		for attempt := 0; ; attempt++ {
			c := deriveCode(m, epoch, id, attempt)
			if !taken[c] {
				out[id], taken[c] = c, true
				break
			}
		}
	}
	return out
}

func derive(secret []byte, parts ...string) []byte {
	return deriveWith(hmac.New(sha256.New, secret), parts...)
}

// deriveWith is derive with m, an HMAC-SHA-256 keyed with the secret
// (reset here): one for many derivations.
func deriveWith(m hash.Hash, parts ...string) []byte {
	m.Reset()
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		io.WriteString(m, p)
	}
	return m.Sum(nil)
}

func deriveCode(m hash.Hash, epoch, group string, attempt int) string {
	sum := deriveWith(m, "muster group code", epoch, group, strconv.Itoa(attempt))
	v := binary.BigEndian.Uint64(sum)
	var c [6]byte
	for i := range c {
		if i == 3 {
			c[i] = '-'
			continue
		}
		c[i] = codeAlphabet[v&31]
		v >>= 5
	}
	return string(c[:])
}

// codeWord is the rally point's code word under the secret and the epoch:
// the same for everyone who meets there, unguessable from outside.
func codeWord(secret []byte, epoch, rally string) string {
	sum := derive(secret, "muster code word", epoch, rally)
	return CodeWords[binary.BigEndian.Uint64(sum)%uint64(len(CodeWords))]
}
