package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/threat"
)

// Defaults for Config fields left at zero.
const (
	DefaultMaxJSONBytes = 1 << 20  // 1 MiB
	DefaultMaxCSVBytes  = 64 << 20 // 64 MiB, as evacuees.DefaultMaxBytes
	// DefaultMaxBulk is how many large uploads (evacuee lists, report
	// files) are read at once: each may hold 64 MiB and several times that
	// in memory while parsed, and two cores parse no faster side by side.
	DefaultMaxBulk     = 2
	DefaultSessionTTL  = 12 * time.Hour
	DefaultIPRate      = 200 // requests a second from one client address
	DefaultAccountRate = 100 // requests a second from one operator
	DefaultLoginRate   = 1   // logins a second from one client address (burst LoginBurst)
	DefaultLoginBurst  = 10
)

// Config configures a Server. Store is required; the rest has defaults.
type Config struct {
	Store muster.Store
	// Places resolves place names in reports and lists the gates of the
	// threat picture; nil: reports must give circles or polygons.
	Places *muster.Places
	// Policy is the threat picture's routing policy (DefaultPolicy if zero).
	Policy *threat.Policy
	Logger *slog.Logger
	// Now is the clock (time.Now if nil); tests move it.
	Now func() time.Time

	MaxJSONBytes int64 // request body limit of JSON endpoints
	MaxCSVBytes  int64 // request body limit of CSV and JSON Lines uploads
	// MaxBulk bounds the large uploads read at once (DefaultMaxBulk when
	// zero); one more is answered 429 with Retry-After, never left to
	// exhaust the memory of the process.
	MaxBulk    int
	SessionTTL time.Duration

	// Rate limits, in requests a second, with a burst of twice as many.
	// Negative disables a limit (a load test); zero takes the default.
	IPRate, AccountRate float64
	// LoginRate limits login attempts from one client address, so that
	// passwords cannot be guessed at the speed of the network.
	LoginRate  float64
	LoginBurst int

	// DefaultCountryCode ("+93") completes national phone numbers in CSV
	// imports; see evacuees.Options.
	DefaultCountryCode string

	// Car and Foot route on the city's road graphs under the threat
	// picture; with Places they let the server plan. Nil: it cannot.
	Car, Foot *route.Router

	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client, for rate limits per client; empty: none is trusted.
	TrustedProxies []netip.Prefix

	// BodyStallTimeout cuts a request body that sends nothing for this
	// long, and MinBodyRate one slower than this many bytes a second on
	// average after its first BodyStallTimeout (see limitBody). Negative:
	// no limit; zero: the defaults.
	BodyStallTimeout time.Duration
	MinBodyRate      int64

	// DeviceKey signs the device cookies a browser gets at a successful
	// login (see throttle.go): instances behind one load balancer need the
	// same; nil: a random key (cookies then last as long as the process).
	DeviceKey []byte

	// Issuer issues the instructions of a plan when it is approved, and
	// its keyring verifies tokens (POST /api/verify, GET /api/bundle).
	// Nil: the server has no signing keys, and refuses to approve plans
	// (an approved plan is issued in the same transaction) and to verify.
	Issuer *issue.Issuer

	// AdvisorySender is the CAP sender of the advisories this deployment
	// issues ("muster@kabul.example.org"); default "muster@" and the
	// keyring's deployment. Imported CAP under it is refused.
	AdvisorySender string

	// AckKey is the secret an SMS gateway signs inbound replies with
	// (Standard Webhooks: package deliver's Verify) for POST
	// /api/ack/code; nil: that endpoint refuses everything.
	AckKey []byte

	// Twilio configures POST /api/ack/twilio (a Twilio-style gateway's
	// inbound SMS, signed its own way); zero: that endpoint refuses
	// everything.
	Twilio TwilioInbound

	// LiveState gives the state of the field now (the live operation: who
	// is through, on the move, waiting, missing; measured gate rates) that
	// re-plans start from (POST /api/plans with revise, POST
	// /api/plans/proposals without a state). Nil: New sets the server's
	// own live state (GET /api/operation: the current plan and the field
	// events; with no current plan, a state that knows nothing).
	LiveState func(ctx context.Context) (plan.State, error)
	// NoShowGrace is how long after its report-by time an overdue
	// household becomes a no-show (operation.DefaultGrace when zero).
	NoShowGrace time.Duration
	// OverdueSweep is how often the server records overdue and no-show
	// events (DefaultOverdueSweep when zero; negative: never, the live
	// state still counts them from the clock).
	OverdueSweep time.Duration
}

// Server serves muster's HTTP API. It is an http.Handler.
type Server struct {
	cfg    Config
	store  muster.Store
	log    *slog.Logger
	now    func() time.Time
	policy threat.Policy

	mux      *http.ServeMux
	routes   []Route
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	ipLimits, accountLimits, loginLimits *limiters
	reads                                *readAuditor
	throttle                             *throttle     // failed logins (throttle.go)
	deviceKey                            []byte        // signs device cookies
	hashing, hashingStrangers            chan struct{} // password checks running (each takes 64 MiB), of strangers

	planning sync.Mutex    // the routers carry one threat picture at a time
	bulk     chan struct{} // large uploads being read (Config.MaxBulk)
	tileSrc  tileSource    // the road map's tiles, built on first use (tiles.go)
	bundles  bundleCache
	live     liveOps      // the live state of the operation (operation.go)
	series   seriesCache  // the last plots' series answered (series.go)
	sims     *simulations // exercises run here (simulations.go)

	closing   chan struct{} // closed by Close: long-lived streams end
	closeOnce sync.Once
}

// New returns a Server over cfg.Store.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("httpapi: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxJSONBytes <= 0 {
		cfg.MaxJSONBytes = DefaultMaxJSONBytes
	}
	if cfg.MaxCSVBytes <= 0 {
		cfg.MaxCSVBytes = DefaultMaxCSVBytes
	}
	if cfg.MaxBulk <= 0 {
		cfg.MaxBulk = DefaultMaxBulk
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.IPRate == 0 {
		cfg.IPRate = DefaultIPRate
	}
	if cfg.AccountRate == 0 {
		cfg.AccountRate = DefaultAccountRate
	}
	if cfg.LoginRate == 0 {
		cfg.LoginRate = DefaultLoginRate
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = DefaultLoginBurst
	}
	if cfg.BodyStallTimeout == 0 {
		cfg.BodyStallTimeout = DefaultBodyStallTimeout
	}
	if cfg.MinBodyRate == 0 {
		cfg.MinBodyRate = DefaultMinBodyRate
	}
	s := &Server{
		cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now,
		mux: http.NewServeMux(), closing: make(chan struct{}), bulk: make(chan struct{}, cfg.MaxBulk),
		ipLimits:      newLimiters(cfg.IPRate, int(2*cfg.IPRate)),
		accountLimits: newLimiters(cfg.AccountRate, int(2*cfg.AccountRate)),
		loginLimits:   newLimiters(cfg.LoginRate, cfg.LoginBurst),
	}
	s.reads = &readAuditor{store: cfg.Store, log: cfg.Logger}
	s.sims = newSimulations()
	s.policy = threat.DefaultPolicy()
	if cfg.Policy != nil {
		s.policy = *cfg.Policy
	}
	if cfg.Places != nil {
		if _, err := places.NewIndex(cfg.Places); err != nil {
			return nil, fmt.Errorf("httpapi: places: %w", err)
		}
		if err := s.seedPlaces(cfg.Places); err != nil {
			return nil, err
		}
	}
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "muster_http_requests_total",
		Help: "HTTP requests served, by route, method and status.",
	}, []string{"route", "method", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "muster_http_request_duration_seconds",
		Help:    "Time to serve an HTTP request, by route, method and status.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	s.registry.MustRegister(s.requests, s.latency)

	if cfg.Issuer != nil {
		if err := s.watchStatuses(); err != nil {
			return nil, fmt.Errorf("httpapi: %w", err)
		}
	}
	s.routes = s.routeTable()
	for i := range s.routes {
		rt := &s.routes[i]
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	s.mux.Handle("/", s.instrument("unmatched", http.HandlerFunc(s.unmatched)))
	s.initLogin()
	if s.cfg.LiveState == nil {
		s.cfg.LiveState = s.planLiveState
	}
	s.sweepOverdue()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, s.limitBody(w, r))
}

// Close ends the long-lived event streams, so that http.Server.Shutdown
// does not wait for them until its deadline; call it when shutdown begins
// (http.Server.RegisterOnShutdown(s.Close)).
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closing) }) }

// Registerer is the registry /metrics serves, for other parts of the
// process (the delivery worker) to add their metrics to.
func (s *Server) Registerer() prometheus.Registerer { return s.registry }

// Routes returns the route table: every endpoint the server serves.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Access says who may call a route.
type Access int

const (
	// Public routes need no credentials.
	Public Access = iota
	// Operator routes need a bearer token of a user whose role is listed.
	Operator
	// Capability routes are reached through an evacuee's capability link,
	// the {token} in the path.
	Capability
)

// Route is one endpoint.
type Route struct {
	Method  string
	Path    string // a net/http ServeMux path pattern: /api/households/{id}
	Summary string
	Access  Access
	Roles   []string // the operator roles allowed (Access == Operator)
	// Body is the request body's media type, "" for none.
	Body string
	// OK is the status of success.
	OK int
	// Produces is the success response's media type.
	Produces string
	// Query lists the query parameters, for the OpenAPI document.
	Query []string
	// In and Out are the JSON request and success response body types,
	// nil for none or not JSON; the OpenAPI schemas are made from them.
	In, Out any

	handle func(w http.ResponseWriter, r *http.Request, c *caller) error
}

// Name is how metrics and logs name the route: "GET /api/households/{id}".
func (rt *Route) Name() string { return rt.Method + " " + rt.Path }

// Allows reports whether an operator of role may call the route.
func (rt *Route) Allows(role string) bool {
	switch rt.Access {
	case Public, Capability:
		return true
	}
	return slices.Contains(rt.Roles, role)
}

// caller is who is calling: an operator (User set) or nobody.
type caller struct {
	user  muster.User
	token muster.Token
}

var (
	allRoles   = []string{muster.RoleAdmin, muster.RolePlanner, muster.RoleField, muster.RoleViewer}
	writers    = []string{muster.RoleAdmin, muster.RolePlanner, muster.RoleField}
	planners   = []string{muster.RoleAdmin, muster.RolePlanner}
	adminsOnly = []string{muster.RoleAdmin}
	// The source registry says which sources analysts judge hostile: read
	// by those who build and oversee the picture, not by the field.
	sourceReaders = []string{muster.RoleAdmin, muster.RolePlanner, muster.RoleViewer}
)

const (
	mediaJSON   = "application/json"
	mediaCSV    = "text/csv"
	mediaNDJSON = "application/x-ndjson"
	mediaGeo    = "application/geo+json"
	mediaSSE    = "text/event-stream"
	mediaText   = "text/plain"
)

// routeTable is THE table: method, path, who, handler. Who may read
// personal data (names, phones, locations): the roles that register and
// move households (admin, planner, field). Viewers see counts, reports and
// the threat picture, nothing that names a person.
func (s *Server) routeTable() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "The process is up", Access: Public, OK: 200, Produces: mediaJSON, Out: statusResponse{}, handle: s.healthz},
		{Method: "GET", Path: "/readyz", Summary: "The database is reachable", Access: Public, OK: 200, Produces: mediaJSON, Out: statusResponse{}, handle: s.readyz},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics", Access: Public, OK: 200, Produces: mediaText, handle: s.metrics},
		{Method: "GET", Path: "/openapi.json", Summary: "This API's OpenAPI 3 document", Access: Public, OK: 200, Produces: mediaJSON, handle: s.openapi},
		{Method: "GET", Path: "/api/hello", Summary: "The cheapest endpoint: a load test's ceiling", Access: Public, OK: 200, Produces: mediaJSON, Out: helloResponse{}, handle: s.hello},

		{Method: "POST", Path: "/api/login", Summary: "Exchange a name and password for a bearer token", Access: Public, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: loginRequest{}, Out: loginResponse{}, handle: s.login},
		{Method: "POST", Path: "/api/logout", Summary: "Revoke the token of this request", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: revokedResponse{}, handle: s.logout},
		{Method: "GET", Path: "/api/whoami", Summary: "The operator this token belongs to", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: whoamiResponse{}, handle: s.whoami},
		{Method: "POST", Path: "/api/password", Summary: "Change one's own password (the current one required); every other session and token of the user ends", Access: Operator, Roles: allRoles, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: passwordRequest{}, Out: passwordResponse{}, handle: s.changePassword},
		{Method: "GET", Path: "/api/tokens", Summary: "One's own sessions and API tokens (an admin: anyone's, user=NAME); live ones unless all=true", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Query: []string{"user", "all"}, Out: tokensResponse{}, handle: s.listTokens},
		{Method: "DELETE", Path: "/api/tokens/{id}", Summary: "Revoke one of one's own sessions or API tokens (an admin: anyone's)", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: revokedResponse{}, handle: s.revokeToken},
		{Method: "GET", Path: "/api/throttles", Summary: "Failed logins this instance holds against addresses, accounts and devices, and how long each must wait", Access: Operator, Roles: adminsOnly, OK: 200, Produces: mediaJSON, Out: throttlesResponse{}, handle: s.listThrottles},
		{Method: "DELETE", Path: "/api/throttles/{account}", Summary: "Forget the failed logins against an account, on every instance; audited", Access: Operator, Roles: adminsOnly, OK: 200, Produces: mediaJSON, Out: throttleCleared{}, handle: s.clearAccountThrottle},
		{Method: "DELETE", Path: "/api/throttles/address/{address}", Summary: "Forget the failed logins from a client address (an IPv6 /64), on every instance; audited", Access: Operator, Roles: adminsOnly, OK: 200, Produces: mediaJSON, Out: throttleCleared{}, handle: s.clearAddressThrottle},

		{Method: "POST", Path: "/api/households", Summary: "Register a household", Access: Operator, Roles: writers, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: householdIn{}, Out: householdOut{}, handle: s.createHousehold},
		{Method: "GET", Path: "/api/households", Summary: "List households, a page at a time", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Query: []string{"status", "priority", "after", "limit"}, Out: householdPage{}, handle: s.listHouseholds},
		{Method: "GET", Path: "/api/households/count", Summary: "Count households (no personal data)", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Query: []string{"status", "priority"}, Out: countResponse{}, handle: s.countHouseholds},
		{Method: "GET", Path: "/api/households/search", Summary: "Find households by id or by a part of a name (q, 2 characters at least; limit, at most 50); audited with the ids shown", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Query: []string{"q", "limit"}, Out: householdSearchResponse{}, handle: s.searchHouseholds},
		{Method: "GET", Path: "/api/households/{id}", Summary: "A household with its status history", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Out: householdOut{}, handle: s.getHousehold},
		{Method: "PUT", Path: "/api/households/{id}", Summary: "Replace a household's registry fields if its version is unchanged", Access: Operator, Roles: writers, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: householdIn{}, Out: householdOut{}, handle: s.updateHousehold},
		{Method: "POST", Path: "/api/households/{id}/status", Summary: "Move a household along its lifecycle", Access: Operator, Roles: writers, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: statusRequest{}, Out: householdOut{}, handle: s.setStatus},
		{Method: "POST", Path: "/api/households/{id}/links", Summary: "Make a capability link for the household's own evacuees", Access: Operator, Roles: writers, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: linkRequest{}, Out: linkResponse{}, handle: s.createLink},
		{Method: "DELETE", Path: "/api/links/{id}", Summary: "Revoke a capability link", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Out: revokedResponse{}, handle: s.revokeLink},
		{Method: "POST", Path: "/api/households/import", Summary: "Import an evacuee list (CSV); dry_run=true reports without storing", Access: Operator, Roles: planners, Body: mediaCSV, OK: 200, Produces: mediaJSON, Query: []string{"dry_run", "country_code"}, Out: ImportReport{}, handle: s.importHouseholds},
		{Method: "GET", Path: "/api/households/export", Summary: "Export every household as CSV", Access: Operator, Roles: planners, OK: 200, Produces: mediaCSV, handle: s.exportHouseholds},

		{Method: "GET", Path: "/api/me/{token}", Summary: "An evacuee's own household and its current instruction (long form in its language, token, QR code), through their capability link", Access: Capability, OK: 200, Produces: mediaJSON, Out: evacueeView{}, handle: s.me},
		{Method: "GET", Path: "/i/{token}", Summary: "The short form of an evacuee's link, as instructions carry it: the same as /api/me/{token}", Access: Capability, OK: 200, Produces: mediaJSON, Out: evacueeView{}, handle: s.me},
		{Method: "POST", Path: "/api/ack/{token}", Summary: "An evacuee acknowledges their instruction (the newest, or instruction_id), through their capability link", Access: Capability, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: ackRequest{}, Out: ackResponse{}, handle: s.ackLink},
		{Method: "POST", Path: "/api/ack/twilio", Summary: "A Twilio-style gateway posts an SMS reply (From, Body starting with the short code) as a form signed with X-Twilio-Signature", Access: Public, Body: mediaForm, OK: 200, Produces: "text/xml", handle: s.ackTwilio},
		{Method: "POST", Path: "/api/ack/code", Summary: "The SMS gateway posts a reply (sender's number, text starting with the short code), signed in the Standard Webhooks style", Access: Public, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: ackCodeRequest{}, Out: ackCodeResponse{}, handle: s.ackCode},
		{Method: "POST", Path: "/api/verify", Summary: "Say whether an instruction token is genuine and current, superseded (by which version, and which parts changed), revoked, expired, signed by an unknown key or forged, against the statuses as of now; body: the token's text", Access: Public, Body: mediaText, OK: 200, Produces: mediaJSON, Out: verdictOut{}, handle: s.verify},
		{Method: "GET", Path: "/api/bundle", Summary: "The signed verifier bundle: the deployment's public keys and the superseded and revoked instructions as of now (Muster-Bundle-As-Of), for offline verifiers", Access: Public, OK: 200, Produces: mediaBundle, handle: s.bundle},
		{Method: "POST", Path: "/api/checkin", Summary: "Check a token (or a household's current instruction) in at a rally point: the first time it is spent; again, refused (409) with where and when it was first, and flagged", Access: Operator, Roles: writers, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: checkinRequest{}, Out: checkinResponse{}, handle: s.checkin},
		{Method: "POST", Path: "/api/checkin/sync", Summary: "Record a device's offline check-ins: reconciled by token and earliest time, the later ones flagged; forged tokens refused", Access: Operator, Roles: writers, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: syncRequest{}, Out: syncResponse{}, handle: s.syncCheckins},
		{Method: "GET", Path: "/api/checkins", Summary: "Check-ins, a page at a time; duplicates=true the flagged ones (a token checked in twice)", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Query: []string{"token", "household", "duplicates", "after", "limit"}, Out: checkinsPage{}, handle: s.listCheckins},
		{Method: "POST", Path: "/api/field-events", Summary: "Record what the field reports (check-ins, departures, sightings, arrivals, gate counts and states), a batch at a time, each event once by its id; a check-in spends its instruction like /api/checkin, one with a superseded, revoked, spent or forged token is kept flagged; per-event outcome", Access: Operator, Roles: writers, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: fieldEventsRequest{}, Out: fieldEventsResponse{}, handle: s.addFieldEvents},
		{Method: "GET", Path: "/api/field-events", Summary: "Field events, by arrival (after=SEQ pages) or by_time=true by when they happened; flagged=true the flagged ones (kept but not applied, or checked in at another rally point)", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Query: []string{"kind", "household", "group", "gate", "flagged", "by_time", "after", "limit"}, Out: fieldEventsPage{}, handle: s.listFieldEvents},
		{Method: "GET", Path: "/api/operation", Summary: "The live state of the operation against the current plan: per gate people through, waiting, expected and the measured rate; per rally point who is there and who is overdue; per group where it is; totals and how far behind or ahead of plan", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: operation.State{}, handle: s.operationState},
		{Method: "GET", Path: "/api/operation/series", Summary: "The operation over time, for plots: per gate people through and waiting as the field reported them against the plan's curve, and the households that acknowledged, at `points` evenly spaced times (3 to 240, default 60) from the plan's start, one of them now; counts only", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Query: []string{"points"}, Out: seriesResponse{}, handle: s.operationSeries},
		{Method: "GET", Path: "/api/unacknowledged", Summary: "Households whose newest instruction is not acknowledged after older_than (default 2h): whom to call; names and phones only for roles that read personal data", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Query: []string{"older_than"}, Out: unackedResponse{}, handle: s.unacknowledged},
		{Method: "GET", Path: "/api/outbox", Summary: "Delivery status: message counts by status and a page of messages, without recipients or text", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Query: []string{"status", "channel", "household", "instruction", "after", "limit"}, Out: outboxPage{}, handle: s.listOutbox},
		{Method: "POST", Path: "/api/outbox/{id}/retry", Summary: "Queue a dead letter again, its attempts counted afresh", Access: Operator, Roles: planners, OK: 200, Produces: mediaJSON, Out: messageJSON{}, handle: s.retryMessage},

		{Method: "POST", Path: "/api/reports", Summary: "Add threat reports: one JSON object or JSON Lines", Access: Operator, Roles: writers, Body: mediaNDJSON, OK: 201, Produces: mediaJSON, Out: addReportsResponse{}, handle: s.addReports},
		{Method: "GET", Path: "/api/reports", Summary: "The reports record, oldest first", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Query: []string{"since", "limit"}, Out: reportsResponse{}, handle: s.listReports},
		{Method: "GET", Path: "/api/threats", Summary: "The threat picture at a time, GeoJSON", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaGeo, Query: []string{"at"}, handle: s.threats},
		{Method: "GET", Path: "/api/rally-points", Summary: "The stored rally points", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: rallyPointsResponse{}, handle: s.rallyPoints},
		{Method: "GET", Path: "/api/gates", Summary: "The stored gates with their status in the threat picture", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Query: []string{"at"}, Out: gatesResponse{}, handle: s.gates},
		{Method: "GET", Path: "/api/places", Summary: "The operation's places (gates, rally points, ...) as a places file", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaGeo, handle: s.listPlaces},
		{Method: "PUT", Path: "/api/places/{id}", Summary: "Create or replace a place: a GeoJSON Feature in the places-file format", Access: Operator, Roles: planners, Body: mediaJSON, OK: 200, Produces: mediaJSON, Out: placeResponse{}, handle: s.putPlace},
		{Method: "PUT", Path: "/api/timezone", Summary: "Set the IANA time zone of the places' opening hours", Access: Operator, Roles: planners, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: timezoneRequest{}, Out: timezoneRequest{}, handle: s.putTimezone},
		{Method: "DELETE", Path: "/api/places/{id}", Summary: "Remove a place", Access: Operator, Roles: planners, OK: 200, Produces: mediaJSON, Out: placeResponse{}, handle: s.deletePlace},
		{Method: "GET", Path: "/api/sources", Summary: "The source registry: each source's grade, set by analysts, in id order", Access: Operator, Roles: sourceReaders, OK: 200, Produces: mediaJSON, Out: sourcesResponse{}, handle: s.listSources},
		{Method: "PUT", Path: "/api/sources/{id}", Summary: "Create or replace a source's grade (reliability, hostile, cluster); audited", Access: Operator, Roles: planners, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: sourceIn{}, Out: sourceJSON{}, handle: s.putSource},
		{Method: "DELETE", Path: "/api/sources/{id}", Summary: "Remove a source's grade; audited", Access: Operator, Roles: planners, OK: 200, Produces: mediaJSON, Out: sourceRemoved{}, handle: s.deleteSource},
		{Method: "GET", Path: "/api/events", Summary: "Server-sent events: what changed", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaSSE, handle: s.events},

		{Method: "POST", Path: "/api/plans", Summary: "Plan (or re-plan, with revise) every household on record under the current threat picture; proposed until approved", Access: Operator, Roles: planners, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: planRequest{}, Out: planOut{}, handle: s.makePlan},
		{Method: "POST", Path: "/api/plans/proposals", Summary: "Re-plan a plan (default the current one) from the state of the field (given, or the live state): minimal change, hybrid and fresh proposals side by side with their numbers, each saved as a proposed plan to approve by id", Access: Operator, Roles: planners, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: proposalsRequest{}, Out: proposalsResponse{}, handle: s.makeProposals},
		{Method: "POST", Path: "/api/simulations", Summary: "Run an exercise (docs/exercise.md) on the current plan, the households and the reports on record, with the injects given; one at a time per instance (429 otherwise); its numbers and curves are kept for the map", Access: Operator, Roles: planners, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: simulationRequest{}, Out: simulationOut{}, handle: s.runSimulation},
		{Method: "GET", Path: "/api/simulations/latest", Summary: "The latest exercise run on this instance: the comparison, people in safety and waiting at each gate minute by minute (no personal data)", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: simulationOut{}, handle: s.latestSimulation},
		{Method: "GET", Path: "/api/plans", Summary: "The plans, newest first, with their summaries (no personal data)", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: plansResponse{}, handle: s.listPlans},
		{Method: "GET", Path: "/api/plans/current", Summary: "The current plan, whole (plan.json)", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, handle: s.currentPlan},
		{Method: "GET", Path: "/api/plans/{id}", Summary: "A plan, whole (plan.json)", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, handle: s.getPlan},
		{Method: "POST", Path: "/api/plans/{id}/approve", Summary: "Make a proposed plan current and issue its instructions, in one transaction: signed, with the households' links, their messages queued; after a re-plan only what changed, the old versions superseded or revoked", Access: Operator, Roles: planners, OK: 200, Produces: mediaJSON, Out: planOut{}, handle: s.approvePlan},
		{Method: "POST", Path: "/api/instructions/issue", Summary: "Issue what changed of the current plan's instructions (nothing if nothing did)", Access: Operator, Roles: planners, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: issueRequest{}, Out: issuanceOut{}, handle: s.issueInstructions},
		{Method: "GET", Path: "/api/instructions", Summary: "Issued instructions with their content and tokens (status=current by default, or superseded, revoked, all; audience=escort for the escorts', the only ones a field officer may list); audited", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Query: []string{"status", "audience", "household", "plan", "after", "limit"}, Out: instructionsPage{}, handle: s.listInstructions},
		{Method: "GET", Path: "/api/instructions/{series}/{version}", Summary: "One instruction version (I-H000042/v2), with its content and token (a field officer: escorts' only); audited", Access: Operator, Roles: writers, OK: 200, Produces: mediaJSON, Out: instructionOut{}, handle: s.getInstruction},

		{Method: "POST", Path: "/api/advisories", Summary: "Broadcast an advisory (canned, or written in English and optionally Dari and Pashto) to every household registered in an area (a zone of the threat picture now, or a GeoJSON polygon), in its language: stored as CAP 1.2, messages queued in the same transaction; the read of locations audited", Access: Operator, Roles: planners, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: advisoryRequest{}, Out: advisoryOut{}, handle: s.createAdvisory},
		{Method: "GET", Path: "/api/advisories", Summary: "The advisories, newest first, with how many households each reached", Access: Operator, Roles: allRoles, OK: 200, Produces: mediaJSON, Out: advisoriesResponse{}, handle: s.listAdvisories},
		{Method: "GET", Path: "/api/advisories/{id}", Summary: "An advisory as CAP 1.2 XML (/api/advisories/ID.xml): advisories are public", Access: Public, OK: 200, Produces: mediaCAP, handle: s.advisoryCAP},
		{Method: "POST", Path: "/api/advisories/import", Summary: "Import another system's CAP 1.2 alert and deliver it to the households in its area (CAP is not signed: only an operator brings one in; CAP under this deployment's own sender is refused)", Access: Operator, Roles: planners, Body: mediaCAP, OK: 201, Produces: mediaJSON, Out: advisoryOut{}, handle: s.importAdvisory},
		{Method: "POST", Path: "/api/advisories/{id}/update", Summary: "Update one of this deployment's advisories (CAP msgType Update referencing it): new words, canned or written, over its area unless another is given, delivered to the households in the area like a new one", Access: Operator, Roles: planners, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: advisoryRequest{}, Out: advisoryOut{}, handle: s.updateAdvisory},
		{Method: "POST", Path: "/api/advisories/{id}/cancel", Summary: "Cancel one of this deployment's advisories (CAP msgType Cancel referencing it, urgency Past, response None), delivered to the households in its area; a cancelled advisory cannot be updated or cancelled again", Access: Operator, Roles: planners, Body: mediaJSON, OK: 201, Produces: mediaJSON, In: advisoryCancelRequest{}, Out: advisoryOut{}, handle: s.cancelAdvisory},
		{Method: "POST", Path: "/api/keys/reload", Summary: "Read the signing keyring again from the data folder (after muster keys rotate), as SIGHUP does: the new key signs and verifies without a restart; refused if the ring is another deployment's or cannot sign; audited", Access: Operator, Roles: adminsOnly, OK: 200, Produces: mediaJSON, Out: keysReloadOut{}, handle: s.reloadKeys},

		{Method: "GET", Path: "/api/audit", Summary: "The audit log, a page at a time", Access: Operator, Roles: adminsOnly, OK: 200, Produces: mediaJSON, Query: []string{"after", "limit"}, Out: auditPage{}, handle: s.listAudit},
		{Method: "GET", Path: "/api/audit/verify", Summary: "Re-compute the audit log's hash chain", Access: Operator, Roles: adminsOnly, OK: 200, Produces: mediaJSON, Out: auditVerifyResponse{}, handle: s.verifyAudit},
		// The browser pages (web.go, docs/web.md) and the road map's tiles (tiles.go).
		{Method: "GET", Path: "/{$}", Summary: "The operations map (HTML page)", Access: Public, OK: 200, Produces: mediaHTML, handle: s.servePage("ops")},
		{Method: "GET", Path: "/field", Summary: "The field officers' page (HTML)", Access: Public, OK: 200, Produces: mediaHTML, handle: s.servePage("field")},
		{Method: "GET", Path: "/field/sw.js", Summary: "The field page's service worker (offline use)", Access: Public, OK: 200, Produces: mediaJS, handle: s.serveWorker("field", "/field")},
		{Method: "GET", Path: "/me/sw.js", Summary: "The evacuee page's service worker (opens the page offline)", Access: Public, OK: 200, Produces: mediaJS, handle: s.serveWorker("evacuee", "/me/")},
		{Method: "GET", Path: "/me/{token}", Summary: "An evacuee's page (HTML; it reads /api/me/{token})", Access: Public, OK: 200, Produces: mediaHTML, handle: s.servePage("evacuee")},
		{Method: "GET", Path: "/assets/{file...}", Summary: "The pages' scripts, styles and fonts, named by a hash of their content", Access: Public, OK: 200, Produces: "application/octet-stream", handle: s.asset},
		{Method: "GET", Path: "/tiles/roads.json", Summary: "TileJSON of the road map: bounds, centre, zoom range, tile URL", Access: Public, OK: 200, Produces: mediaJSON, Out: tileJSON{}, handle: s.tileJSON},
		{Method: "GET", Path: "/tiles/{z}/{x}/{y}", Summary: "A vector tile of the road graph ({y} ends in .mvt): roads by class with their names", Access: Public, OK: 200, Produces: mediaMVT, handle: s.tile},

		// Last in the table: tests walk it in order, and this one ends the
		// personal data of the store they use.
		{Method: "POST", Path: "/api/wipe", Summary: "Destroy the data key: the personal data can never be read again", Access: Operator, Roles: adminsOnly, Body: mediaJSON, OK: 200, Produces: mediaJSON, In: wipeRequest{}, Out: wipeResponse{}, handle: s.wipe},
	}
}

// wrap builds a route's handler: metrics, the client's rate limit,
// authentication and authorisation, the account's rate limit, then the
// route's own handler.
func (s *Server) wrap(rt *Route) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (strings.HasPrefix(rt.Path, "/api/") || strings.HasPrefix(rt.Path, "/i/") || strings.HasPrefix(rt.Path, "/me/") || strings.HasPrefix(rt.Path, "/tiles/")) && !s.ipLimits.allow(s.clientIP(r)) {
			s.writeError(w, r, errorf(codeRateLimited, "too many requests from %s: slow down", s.clientIP(r)))
			return
		}
		c := &caller{}
		if rt.Access == Operator {
			var err error
			if c, err = s.authenticate(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			if !rt.Allows(c.user.Role) {
				s.writeError(w, r, errorf(muster.EFORBIDDEN, "%s: role %s may not %s (allowed: %s)", c.user.Name, c.user.Role, rt.Name(), strings.Join(rt.Roles, ", ")))
				return
			}
			if !s.accountLimits.allow(c.user.Name) {
				s.writeError(w, r, errorf(codeRateLimited, "too many requests from account %s: slow down", c.user.Name))
				return
			}
			r = r.WithContext(muster.WithActor(r.Context(), c.user.Name))
		}
		if err := rt.handle(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	})
	return s.instrument(rt.Name(), h)
}

// unmatched answers paths no route serves: 405 with Allow when the path
// exists under other methods, else 404, both as JSON errors.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, errorf(codeMethod, "%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	s.writeError(w, r, errorf(muster.ENOTFOUND, "%s: no such endpoint (see /openapi.json)", r.URL.Path))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.status == 0 {
		sr.status = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Write(p []byte) (int, error) {
	if sr.status == 0 {
		sr.status = http.StatusOK
	}
	return sr.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

// instrument counts and times each request by route, method and status,
// and turns a panic into a logged 500 rather than a dropped connection.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sr := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "route", route, "panic", p)
				if sr.status == 0 {
					s.writeError(sr, r, fmt.Errorf("panic: %v", p))
				}
			}
			status := sr.status
			if status == 0 {
				status = http.StatusOK
			}
			code := strconv.Itoa(status)
			took := time.Since(start)
			method := metricMethod(r.Method)
			s.requests.WithLabelValues(route, method, code).Inc()
			s.latency.WithLabelValues(route, method, code).Observe(took.Seconds())
			if s.log.Enabled(r.Context(), slog.LevelDebug) {
				s.log.Debug("request", "method", r.Method, "route", route, "status", status, "took", took, "client", s.clientIP(r))
			}
		}()
		h.ServeHTTP(sr, r)
	})
}

type statusResponse struct {
	Status string `json:"status"`
}

// metricMethod keeps the method label to a few values: a client sending
// made-up methods must not grow the metrics without bound.
func metricMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS":
		return m
	}
	return "OTHER"
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
	return nil
}

// readyz asks the database something cheap: one count query, bounded by a
// short deadline so that a load balancer's probe never hangs.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.CountHouseholds(ctx, muster.HouseholdFilter{Status: muster.StatusEvacuated}); err != nil {
		s.log.Warn("not ready", "err", err)
		return errorf(codeUnavailable, "database not reachable")
	}
	writeJSON(w, http.StatusOK, statusResponse{Status: "ready"})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ *caller) error {
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

type helloResponse struct {
	Hello string `json:"hello"`
}

var helloBody = []byte(`{"hello":"muster"}` + "\n")

func (s *Server) hello(w http.ResponseWriter, r *http.Request, _ *caller) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(helloBody)
	return nil
}
