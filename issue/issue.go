// Package issue turns the approved plan into the instructions people
// receive: it builds them (package instruct: the first time every
// household's, after a re-plan only what changed), signs each with the
// deployment's keyring (package credential), writes its forms with the
// household's link, token and reply code, and hands the store ONE batch
// that approves the plan, stores the new versions, supersedes and revokes
// the old ones, makes the capability links and queues the messages, in one
// transaction (signing while the store writes: IssueBatch.Sign). It also
// verifies tokens against the store's statuses.
// docs/issuing.md says how and why.
package issue

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/instruct"
	"github.com/muster-evac/muster/plan"
	"golang.org/x/sync/errgroup"
)

// Config configures an Issuer. Store, Keyring and Secret are required.
type Config struct {
	Store muster.Store
	// Keyring signs the tokens; it must hold its private key.
	Keyring *credential.Keyring
	// Secret derives group codes and code words (instruct.Options.Secret):
	// the same on every instance, or codes would differ between them.
	// CodesSecret derives one from the master key.
	Secret []byte
	// Streets names the streets of walking directions; nil: directions
	// without street names.
	Streets *instruct.Streets
	// PublicURL is where evacuees reach the server ("https://evac.example.org"):
	// their link is PublicURL/i/SECRET.
	PublicURL string
	// Contact is whom to ask, in every instruction.
	Contact muster.Contact
	// DefaultLanguage and EscortLanguage: see instruct.Options.
	DefaultLanguage, EscortLanguage string
	// Webhook: also queue each household's instruction to the configured
	// webhook (integrations).
	Webhook bool
	// ReadKeyring, if set, reads the keyring again (from the data folder,
	// after `muster keys rotate` or `revoke`): ReloadKeys calls it, so that
	// a running server signs with the new key and verifies by the new
	// ring without a restart.
	ReadKeyring func() (*credential.Keyring, error)
	// CollectorPercent, if above 0, is the collector's GOGC while an
	// approval or an issuance runs (debug.SetGCPercent; the process's own
	// is restored once the last one ends). muster serve runs at 200, for
	// its requests' short-lived garbage; an approval holds a live set of
	// some 300 MB at 100,000 households, and at 200 the heap grew to three
	// times it before a collection, 850 MB instead of 590, every page of it
	// memory the process touched for the first time (a page fault each
	// 4 kB, some 11 µs on this machine's virtual machines): serve sets 100.
	CollectorPercent int
	Now              func() time.Time
	Logger           *slog.Logger
}

// Issuer issues instructions. It is safe for concurrent use; concurrent
// issuances are serialised by the store (one of two built on the same
// state is refused).
type Issuer struct {
	cfg Config
	kr  atomic.Pointer[credential.Keyring] // swapped whole by ReloadKeys
}

// ErrNoKeys is returned by New when there is no keyring to sign with.
var ErrNoKeys = errors.New("no signing keys: run `muster keys init --deployment ID` in the server's data folder, then restart the server; without keys no instruction can be issued (and no plan approved)")

// New returns an Issuer, or why it cannot issue.
func New(cfg Config) (*Issuer, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("issue: no store")
	case cfg.Keyring == nil:
		return nil, ErrNoKeys
	case !cfg.Keyring.CanSign():
		return nil, fmt.Errorf("issue: %w", credential.ErrNoPrivateKey)
	case len(cfg.Secret) < instruct.MinSecretBytes:
		return nil, fmt.Errorf("issue: a secret of %d bytes or more is needed for group codes and code words", instruct.MinSecretBytes)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	is := &Issuer{cfg: cfg}
	is.kr.Store(cfg.Keyring)
	return is, nil
}

// Keyring is the keyring the issuer signs with, and the server verifies
// by: the one read last.
func (is *Issuer) Keyring() *credential.Keyring { return is.kr.Load() }

// ReloadKeys reads the keyring again (Config.ReadKeyring) and, if it is
// the same deployment's and can sign, makes it the issuer's: issuances
// that began before finish with the keyring they began with. The old
// ring is kept when the new one cannot be read or is another
// deployment's (every token issued would then be another deployment's).
func (is *Issuer) ReloadKeys() (*credential.Keyring, error) {
	if is.cfg.ReadKeyring == nil {
		return nil, muster.Errorf(muster.EINVALID, "this server's keyring cannot be read again (no data folder): restart it")
	}
	kr, err := is.cfg.ReadKeyring()
	if err != nil {
		return nil, fmt.Errorf("reloading the keyring: %w", err)
	}
	old := is.Keyring()
	switch {
	case kr == nil:
		return nil, muster.Errorf(muster.EINVALID, "reloading the keyring: there is none any more; the old one stays")
	case kr.Deployment() != old.Deployment():
		return nil, muster.Errorf(muster.EINVALID, "reloading the keyring: it is deployment %s's, this server signs for %s; the old one stays", kr.Deployment(), old.Deployment())
	case !kr.CanSign():
		return nil, muster.Errorf(muster.EINVALID, "reloading the keyring: %v; the old one stays", credential.ErrNoPrivateKey)
	}
	is.kr.Store(kr)
	is.cfg.Logger.Info("keyring reloaded", "deployment", kr.Deployment(), "active_key", kr.Active().ID().String(), "keys", len(kr.Keys()))
	return kr, nil
}

// CodesSecret derives the secret of group codes and code words from the
// master key, so that every instance sharing the master key derives the
// same codes without another file to share.
func CodesSecret(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("muster instruction codes v1"))
	return m.Sum(nil)
}

// LinkPath is the path of an evacuee's link under the server.
func LinkPath(secret string) string { return "/i/" + secret }

// Report says what an issuance did.
type Report struct {
	muster.IssueResult
	Unchanged  int            // instructions that stay in force as they are
	Households int            // households' new versions
	Escorts    int            // escorts' new versions (stored; no channel: operators read them)
	Expired    int            // not issued: they expired before they could be (their group is through)
	NoChannel  int            // households issued a version with no channel to send it by
	Resigned   int            // new versions only because a revoked key signed the one in force
	Messages   map[string]int // messages queued by channel
}

// Approve makes the proposed plan planID current and issues its
// instructions, in ONE transaction: both happen or neither.
func (is *Issuer) Approve(ctx context.Context, planID string) (Report, error) {
	return is.run(ctx, planID, true)
}

// Issue issues the instructions of the current plan planID: what changed
// since the last issuance (nothing, if nothing did).
func (is *Issuer) Issue(ctx context.Context, planID string) (Report, error) {
	return is.run(ctx, planID, false)
}

func (is *Issuer) run(ctx context.Context, planID string, approve bool) (Report, error) {
	defer holdCollectorPercent(is.cfg.CollectorPercent)()
	st := is.cfg.Store
	// What the issuance is built from, read side by side: the plan's body
	// (tens of megabytes of JSON at 100,000 households) is read and
	// decoded on one core while the households are read and opened on the
	// other. The plan's status is checked once both are read: a plan not
	// proposed (or not current) is refused then, its households' read
	// audited all the same.
	var (
		rec        muster.PlanRecord
		basis      string
		p          plan.Plan
		households []muster.Household
		previous   []muster.Instruction
		last       map[string]int
		pl         muster.Places
	)
	kr := is.Keyring() // one keyring for the whole issuance, whatever a reload does meanwhile
	badKey := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if rec, err = st.GetPlan(gctx, planID); err != nil {
			return err
		}
		if !wantStatus(rec, approve) {
			return nil // (refused below, once the others end)
		}
		// Decoded by the plan itself: json.Unmarshal would scan the
		// body once more before handing it over.
		if err := p.UnmarshalJSON(rec.Body); err != nil {
			return fmt.Errorf("plan %s: %w", rec.ID, err)
		}
		// The body (24 MB at 100,000 households) is not read again: let
		// the collector have it while the instructions are built and
		// signed, rather than keep it to the commit (rec is).
		rec.Body = nil
		return nil
	})
	g.Go(func() (err error) {
		households, err = is.households(gctx)
		return err
	})
	g.Go(func() (err error) {
		if basis, err = currentPlanID(gctx, st); err != nil {
			return err
		}
		if previous, last, err = is.inForce(gctx, kr, badKey); err != nil {
			return err
		}
		pl, err = st.Places(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	if !wantStatus(rec, approve) {
		if approve {
			return Report{}, muster.Errorf(muster.ECONFLICT, "plan %s is %s: only a proposed plan can be approved", rec.ID, rec.Status)
		}
		return Report{}, muster.Errorf(muster.ECONFLICT, "plan %s is %s: instructions are issued from the current plan only (approve it)", rec.ID, rec.Status)
	}
	p.Status = muster.PlanCurrent // the store's word, not the body's: it is (or is being made) current
	now := is.cfg.Now().UTC().Truncate(time.Second)
	opts := instruct.Options{
		Secret: is.cfg.Secret, PlanID: rec.ID, TimeZone: pl.Timezone, DefaultLanguage: is.cfg.DefaultLanguage,
		EscortLanguage: is.cfg.EscortLanguage, Escorts: true, Contact: is.cfg.Contact, IssuedAt: now, Logger: is.cfg.Logger,
		// A version in force signed by a key since revoked (or no longer in
		// the keyring) verifies as "signed by a revoked key": its household
		// gets the same content signed again, by the key that signs now.
		Resign: func(in *muster.Instruction) bool { return badKey[in.ID] },
	}
	// The households' links, and the households by id, are looked up
	// while the instructions are built. Only households issued an
	// instruction before can have a link (an issuance makes the link
	// with the household's first instruction): a first issuance looks up
	// none. A lookup is the first read after the audit of the households'
	// read, and waits for its connection to drop its cache (0.2 to 0.3 s
	// of a core at 76,000 households). Every household of the plan that
	// had an instruction is looked up, those whose instruction does not
	// change too: which do is known only once built.
	type looked struct {
		links map[string]string
		byID  map[string]*muster.Household
		err   error
	}
	lookup := make(chan looked, 1)
	go func() {
		var ids []string
		for i := range p.Households {
			if id := p.Households[i].ID; last[muster.InstructionSeries(muster.AudienceHousehold, id)] > 0 {
				ids = append(ids, id)
			}
		}
		links := map[string]string{}
		var err error
		if len(ids) > 0 {
			links, err = st.InstructionLinks(ctx, ids, now)
		}
		byID := make(map[string]*muster.Household, len(households))
		for i := range households {
			byID[households[i].ID] = &households[i]
		}
		lookup <- looked{links, byID, err}
	}()
	rev, err := instruct.Reissue(previous, last, &p, households, is.cfg.Streets, opts)
	lk := <-lookup
	if err != nil {
		return Report{}, err
	}
	if lk.err != nil {
		return Report{}, lk.err
	}
	rep := Report{Unchanged: len(rev.Unchanged), Messages: map[string]int{}}
	b := muster.IssueBatch{Plan: rec.ID, Basis: basis, Revoke: rev.Revoked}
	if approve {
		b.ApprovePlan = rec.ID
	}
	changes := rev.Changed[:0] // filtered in place: a Change is large
	for _, ch := range rev.Changed {
		if !ch.Instruction.ExpiresAt.After(now) {
			rep.Expired++
			continue
		}
		if len(ch.Changes) == 1 && ch.Changes[0] == muster.ChangedSignature {
			rep.Resigned++
		}
		changes = append(changes, ch)
	}
	if err := is.prepare(kr, &b, &rep, changes, lk.byID, lk.links, now); err != nil {
		return Report{}, err
	}
	res, err := st.IssueInstructions(ctx, b)
	if err != nil {
		return Report{}, err
	}
	rep.IssueResult = res
	rep.IssuedAt = now // the instructions' issue time (the store's commit time may differ)
	is.cfg.Logger.Info("instructions issued", "plan", rec.ID, "approved", res.Approved, "issued", res.Issued, "superseded", res.Superseded,
		"revoked", res.Revoked, "unchanged", rep.Unchanged, "expired", rep.Expired, "queued", res.Enqueued, "households_without_channel", rep.NoChannel, "signed_again", rep.Resigned)
	return rep, nil
}

// collectorHold is the collector's GOGC held for the issuances running
// (holdCollectorPercent).
var collectorHold struct {
	mu      sync.Mutex
	holders int
	prev    int // the process's own, restored when the last ends
}

// holdCollectorPercent sets the collector's GOGC to percent, if above 0,
// until the function it returns is called; issuances running side by
// side share one hold, the first one's percent, and the process's own
// comes back when the last ends.
func holdCollectorPercent(percent int) (release func()) {
	if percent <= 0 {
		return func() {}
	}
	collectorHold.mu.Lock()
	defer collectorHold.mu.Unlock()
	if collectorHold.holders == 0 {
		collectorHold.prev = debug.SetGCPercent(percent)
	}
	collectorHold.holders++
	return func() {
		collectorHold.mu.Lock()
		defer collectorHold.mu.Unlock()
		if collectorHold.holders--; collectorHold.holders == 0 {
			debug.SetGCPercent(collectorHold.prev)
		}
	}
}

// wantStatus says whether plan rec may be approved (approve) or issued.
func wantStatus(rec muster.PlanRecord, approve bool) bool {
	if approve {
		return rec.Status == muster.PlanProposed
	}
	return rec.Status == muster.PlanCurrent
}

// currentPlanID is the id of the current plan, "" when none is. The
// listing has no bodies: CurrentPlan would read and open the whole
// current plan (tens of megabytes) for its id. The current plan is the
// last approved, so among the newest listed; if it is not (a thousand
// plans proposed since), CurrentPlan says.
func currentPlanID(ctx context.Context, st muster.Store) (string, error) {
	plans, err := st.ListPlans(ctx, 1000)
	if err != nil {
		return "", err
	}
	for _, p := range plans {
		if p.Status == muster.PlanCurrent {
			return p.ID, nil
		}
	}
	cur, err := st.CurrentPlan(ctx)
	switch {
	case err == nil:
		return cur.ID, nil
	case muster.ErrorCode(err) == muster.ENOTFOUND:
		return "", nil
	}
	return "", err
}

// households reads every household on record (personal data: audited),
// with only what an issuance uses of each: its ID, language, names, phone
// and e-mail (Store.ListHouseholdContacts; every other field is zero).
// The builder greets a household by name in its language, and the
// messages go to its phone and e-mail; nothing else of the registry is
// opened.
func (is *Issuer) households(ctx context.Context) ([]muster.Household, error) {
	// Room for them all up front: 100,000 households grown by appends
	// were copied over and over (0.2 to 0.4 CPU-s). The count is a hint:
	// one imported meanwhile is appended.
	n, err := is.cfg.Store.CountHouseholds(ctx, muster.HouseholdFilter{})
	if err != nil {
		return nil, err
	}
	out := make([]muster.Household, 0, n)
	after := ""
	for {
		// Asked for no more than there are: the store makes room for
		// as many as asked.
		page, next, err := is.cfg.Store.ListHouseholdContacts(ctx, after, min(max(n-len(out), 1), householdsPage))
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		after = next
	}
	if _, err := is.cfg.Store.AppendAudit(ctx, muster.AuditEntry{Action: "household.read", Target: "households",
		Detail: fmt.Sprintf("%d households read to issue instructions (names, languages, phones, e-mails)", len(out))}); err != nil {
		return nil, err
	}
	return out, nil
}

// householdsPage is how many households households reads at a time.
const householdsPage = muster.MaxContactsPage

// inForce reads the current instructions and the last version of every
// series ever issued, and fills badKey with the ids of those whose token
// a key kr no longer trusts signed (revoked, or gone from the ring).
func (is *Issuer) inForce(ctx context.Context, kr *credential.Keyring, badKey map[string]bool) ([]muster.Instruction, map[string]int, error) {
	var prev []muster.Instruction
	after := ""
	for {
		page, next, err := is.cfg.Store.ListInstructions(ctx, muster.InstructionFilter{Status: muster.InstructionCurrent, AfterID: after, Limit: 100_000}, true)
		if err != nil {
			return nil, nil, err
		}
		for _, in := range page {
			prev = append(prev, in.Instruction)
			if kid, err := credential.TokenKeyID(in.Token); err != nil || !kr.Usable(kid) {
				badKey[in.ID] = true
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	st, _, err := is.cfg.Store.InstructionStatuses(ctx)
	if err != nil {
		return nil, nil, err
	}
	last := make(map[string]int, len(st))
	for s, v := range st {
		last[s] = v.Latest
	}
	return prev, last, nil
}

// prepare signs and renders the new versions and fills the batch: the
// versions, the links of households that have none, the messages.
// byID are the households by id, links the secrets of their links in
// force (InstructionLinks) at least for the households of changes.
func (is *Issuer) prepare(kr *credential.Keyring, b *muster.IssueBatch, rep *Report, changes []instruct.Change, byID map[string]*muster.Household, links map[string]string, now time.Time) error {
	need := make([]string, 0, len(changes))
	for _, ch := range changes {
		if ch.Instruction.Audience == muster.AudienceHousehold {
			need = append(need, ch.Instruction.Household)
		}
	}
	b.Links = make([]muster.InstructionLink, 0, len(need)) // (links may hold households without a change)
	capID := newCapabilityIDs(now)
	for _, h := range need {
		if _, ok := links[h]; !ok {
			secret := newLinkSecret()
			links[h] = secret
			b.Links = append(b.Links, muster.InstructionLink{HouseholdID: h, CapabilityID: capID(), Secret: secret,
				ExpiresAt: now.Add(muster.InstructionLinkTTL)})
		}
	}
	// The versions are the changes as Reissue built them (instruct.Change
	// is the store's type: nothing copied); their messages are laid out
	// here, on every core (a message has a reply code to draw); each
	// version is signed, and its SMS rendered, by Sign, which the store
	// calls on the other cores while its writer writes the versions
	// before it.
	b.Issue = changes
	// Instruction i's messages are b.Messages[first[i]:first[i+1]],
	// counted first: a message is large, and 160,000 grown by appends
	// cost 0.7 CPU-s.
	first := make([]int, len(changes)+1)
	type target struct {
		h          *muster.Household
		email, sms bool
	}
	targets := make([]target, len(changes))
	inChunks(len(changes), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			if in := &changes[i].Instruction; in.Audience == muster.AudienceHousehold {
				if h := byID[in.Household]; h != nil {
					email, sms := is.channels(h)
					targets[i] = target{h: h, email: email, sms: sms}
					first[i+1] = boolInt(email) + boolInt(sms) + boolInt(is.cfg.Webhook)
				}
			}
		}
	})
	for i := range changes {
		first[i+1] += first[i]
	}
	b.Messages = make([]muster.OutboxMessage, first[len(changes)])
	type tally struct {
		escorts, households, noChannel int
		messages                       map[string]int
	}
	tallies := make([]tally, workers(len(changes)))
	inChunks(len(changes), func(w, lo, hi int) {
		t := &tallies[w]
		if t.messages == nil {
			t.messages = map[string]int{}
		}
		for i := lo; i < hi; i++ {
			in := &changes[i].Instruction
			if in.Audience != muster.AudienceHousehold {
				t.escorts++
				continue
			}
			t.households++
			ms := b.Messages[first[i]:first[i]:first[i+1]]
			if tg := targets[i]; tg.h != nil {
				ms = is.messages(ms, in, tg.h, links[tg.h.ID], tg.email, tg.sms)
			}
			if len(ms) == 0 {
				t.noChannel++
			}
			for _, m := range ms {
				t.messages[m.Channel]++
			}
		}
	})
	for _, t := range tallies {
		rep.Escorts += t.escorts
		rep.Households += t.households
		rep.NoChannel += t.noChannel
		for c, k := range t.messages {
			rep.Messages[c] += k
		}
	}
	b.Sign = func(i int) error {
		return is.sign(kr, &b.Issue[i], b.Messages[first[i]:first[i+1]], now)
	}
	return nil
}

// layoutChunk is how many versions a worker lays out at a time.
const layoutChunk = 1024

// workers is how many goroutines inChunks runs for n items.
func workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), (n+layoutChunk-1)/layoutChunk)) }

// inChunks calls f(w, lo, hi) for every chunk [lo, hi) of [0, n), on
// workers(n) goroutines taking chunks in turn; w is the worker (for its
// own tallies), and returns when every chunk is done.
func inChunks(n int, f func(w, lo, hi int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers(n) {
		wg.Go(func() {
			for {
				lo := int(next.Add(layoutChunk)) - layoutChunk
				if lo >= n {
					return
				}
				f(w, lo, min(lo+layoutChunk, n))
			}
		})
	}
	wg.Wait()
}

// messages appends the messages that will carry in to household h, with
// the household's link: an e-mail and a webhook rendered when they are
// sent, an SMS rendered by sign. email and sms are is.channels(h).
func (is *Issuer) messages(ms []muster.OutboxMessage, in *muster.Instruction, h *muster.Household, secret string, email, sms bool) []muster.OutboxMessage {
	link := is.cfg.PublicURL + LinkPath(secret)
	base := muster.OutboxMessage{HouseholdID: h.ID, InstructionID: in.ID, InstructionVersion: in.Version, AckCode: muster.NewAckCode()}
	if email {
		// Rendered when it is sent (Render): the long form, as text and
		// HTML, is some 7 kB a household, which stored sealed for 100,000
		// households was most of what an issuance wrote.
		m := base
		m.Channel, m.Recipient, m.Link = muster.ChannelEmail, h.Email, link
		ms = append(ms, m)
	}
	if sms {
		m := base
		// Its link is kept here for sign, which renders the short form
		// with it and then clears it (an SMS is queued rendered).
		m.Channel, m.Recipient, m.Link = muster.ChannelSMS, h.Phone, link
		ms = append(ms, m)
	}
	if is.cfg.Webhook {
		m := base
		m.Channel, m.Link = muster.ChannelWebhook, link
		ms = append(ms, m)
	}
	return ms
}

// channels says whether household h is sent an e-mail and an SMS.
func (is *Issuer) channels(h *muster.Household) (email, sms bool) {
	return h.Email != "" && muster.CheckRecipient(muster.ChannelEmail, h.Email) == nil,
		h.Phone != "" && muster.CheckRecipient(muster.ChannelSMS, h.Phone) == nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sign signs a new version and renders the SMS among its messages ms.
func (is *Issuer) sign(kr *credential.Keyring, out *muster.IssuedInstruction, ms []muster.OutboxMessage, now time.Time) error {
	in := &out.Instruction
	// One canonical form and one hash, for the token's digest and the
	// store's.
	digest := in.Digest()
	c, err := claims(in, kr.Deployment(), digest)
	if err != nil {
		return err
	}
	token, err := kr.Sign(c, now)
	if err != nil {
		return muster.Errorf(muster.EINVALID, "%v", err)
	}
	out.Token, out.Digest = token, hex.EncodeToString(digest[:])
	for i := range ms {
		m := &ms[i]
		if m.Channel != muster.ChannelSMS {
			continue
		}
		// The short form is rendered now, and every household's
		// instruction with it: what cannot be written in its language
		// is refused here, not found by the delivery worker.
		sms, err := instruct.ShortMessage(in, instruct.Message{Link: m.Link, Token: token, AckCode: m.AckCode})
		if err != nil {
			return err
		}
		m.Body, m.Link = sms, ""
	}
	return nil
}

// Render writes the subject and bodies of an instruction's message
// queued to be rendered when it is sent (its Link set: the e-mail and the
// webhook of an issuance), from the instruction version it names, read
// from st (its content checked against its digest, and its token), the
// link and the reply code it carries: the delivery worker's
// deliver.Worker.Render. A message whose instruction is not its
// household's, or not the version it names, is refused.
func Render(ctx context.Context, st muster.Store, m muster.OutboxMessage) (muster.OutboxMessage, error) {
	if m.Link == "" {
		return m, nil // rendered when it was queued
	}
	in, err := st.GetInstruction(ctx, m.InstructionID)
	if err != nil {
		return m, fmt.Errorf("message %s: its instruction: %w", m.ID, err)
	}
	if in.Audience != muster.AudienceHousehold || in.Household != m.HouseholdID || in.Version != m.InstructionVersion {
		return m, muster.Errorf(muster.EINVALID, "message %s: instruction %s is not version %d of household %s's", m.ID, in.ID, m.InstructionVersion, m.HouseholdID)
	}
	msg := instruct.Message{Link: m.Link, Token: in.Token, AckCode: m.AckCode}
	if m.Subject, err = instruct.Subject(&in.Instruction); err != nil {
		return m, fmt.Errorf("message %s: %w", m.ID, err)
	}
	switch m.Channel {
	case muster.ChannelEmail:
		forms, err := instruct.RenderMessage(&in.Instruction, msg)
		if err != nil {
			return m, fmt.Errorf("message %s: %w", m.ID, err)
		}
		m.Body, m.BodyHTML = forms.Text, forms.HTML
	default:
		if m.Body, err = instruct.TextMessage(&in.Instruction, msg); err != nil {
			return m, fmt.Errorf("message %s: %w", m.ID, err)
		}
	}
	return m, nil
}

// Claims are the signed claims of an instruction issued by deployment:
// what a checker at a rally point needs offline, and the digest of
// everything else.
func Claims(in *muster.Instruction, deployment string) (credential.Claims, error) {
	return claims(in, deployment, in.Digest())
}

// claims are Claims, with the digest of in (Instruction.Digest) given.
func claims(in *muster.Instruction, deployment string, digest [32]byte) (credential.Claims, error) {
	var d [credential.DigestSize]byte
	copy(d[:], digest[:]) // credential.ContentDigest(in.Canonical())
	holder := in.Household
	if in.Audience == muster.AudienceEscort {
		holder = in.Group
	}
	c := credential.Claims{
		Issuer: deployment, IssuedAt: in.IssuedAt, NotAfter: in.ExpiresAt, Instruction: in.Series, Version: uint32(in.Version), Household: holder,
		Digest: d, RallyPoint: in.RallyPoint.ID, ReportFrom: in.ReportFrom, ReportBy: in.ReportBy,
		Group: in.GroupCode, People: uint16(min(max(in.People, 0), 65535)),
	}
	if in.Supersedes != "" {
		_, v, ok := muster.VersionOf(in.Supersedes)
		if !ok {
			return c, muster.Errorf(muster.EINVALID, "instruction %s: supersedes %q, not a version id", in.ID, in.Supersedes)
		}
		c.Supersedes = uint32(v)
	}
	if err := c.Validate(); err != nil {
		return c, muster.Errorf(muster.EINVALID, "instruction %s: its token: %v", in.ID, err)
	}
	return c, nil
}

// linkAlphabet is base32's, in lower case: 5 bits a character.
var linkEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newCapabilityIDs returns the maker of the capability ids of one
// issuance's links, one after another: "cap-i" and muster.IDRange's, as
// the outbox's message ids are. An id names the capability, it opens
// nothing (the secret does, stored as a hash), so it need not be random:
// in order, the capabilities' primary key is filled at its right edge,
// where random ids put each of 100,000 new ones at a random place (its
// pages split all over).
func newCapabilityIDs(now time.Time) func() string { return muster.NewIDRange("cap-i", now).Seq() }

// newLinkSecret returns 20 characters (100 random bits): a link short
// enough for the SMS budget, with far too many values to guess at the
// rate limit, and stored only as a hash (and, for the messages, sealed).
func newLinkSecret() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // does not fail on Linux; a guessable link is worse
	}
	return linkEncoding.EncodeToString(b[:])[:20]
}
