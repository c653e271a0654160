package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

// clientFrom is an HTTP client whose connections leave from a loopback
// address of its own (Linux routes all of 127.0.0.0/8 to loopback), so
// that the server sees another client address.
func clientFrom(ip string, jar http.CookieJar) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 15 * time.Second, Jar: jar,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}}
}

// attempt is one login and what the server said.
type attempt struct {
	from       string
	at         time.Duration
	status     int
	retryAfter string
	took       time.Duration
}

func loginAs(t *testing.T, c *http.Client, base, name, pw string) (int, string) {
	t.Helper()
	resp, err := c.Post(base+"/api/login", "application/json", bytes.NewReader(mustJSON(loginRequest{Name: name, Password: pw})))
	if err != nil {
		t.Errorf("login: %v", err)
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestLoginLockoutSlowsTheAttacker is issue 12's lockout, bounded: for
// five seconds an attacker tries two wrong passwords a second from
// 127.0.0.2 and another three a second from 127.0.0.3-127.0.0.9 in turn,
// while the account's owner logs in from 127.0.0.1 with the right one.
// The owner gets in every time; the attackers get 429 with Retry-After,
// and few of their guesses are even checked. An admin then sees the
// throttles and clears them.
//
// The five seconds are the server's clock, moved by the test in steps of
// a sixth of a second: the attempts of one step go side by side, and the
// clock moves on once they are all answered. So the throttle sees exactly
// these rates however slow the machine (a loaded one once answered so
// late that the attempts bunched up), and the test makes a fixed number
// of attempts (45) whatever the time they take.
func TestLoginLockoutSlowsTheAttacker(t *testing.T) {
	var clockMu sync.Mutex
	now := time.Now()
	// The default login throttle, not newEnv's generous limits. The rate
	// limit of logins per address (one a second, after a burst) runs on the
	// real clock, which this test compresses: its burst is raised to the
	// attempts one address makes here (12), so that every 429 comes from the
	// throttle under test.
	e := newEnvCity(t, openSQLite(t), false, func(c *Config) {
		c.LoginRate, c.LoginBurst = 0, 12
		c.Now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	})
	const victim = "planner-user"
	base := e.srv.URL
	var mu sync.Mutex
	var tries []attempt
	var wg sync.WaitGroup
	try := func(c *http.Client, from, pw string, at time.Duration) {
		defer wg.Done()
		t0 := time.Now()
		status, ra := loginAs(t, c, base, victim, pw)
		mu.Lock()
		tries = append(tries, attempt{from: from, at: at, status: status, retryAfter: ra, took: time.Since(t0)})
		mu.Unlock()
	}
	attacker := clientFrom("127.0.0.2", nil)
	rotating := map[string]*http.Client{}
	for i := 3; i <= 9; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		rotating[ip] = clientFrom(ip, nil)
	}
	owner := clientFrom("127.0.0.1", nil)

	const dur, step = 5 * time.Second, time.Second / 6
	n, k := 0, 0
	for i := 1; i <= int(dur/step); i++ {
		clockMu.Lock()
		now = now.Add(step)
		clockMu.Unlock()
		at := time.Duration(i) * step
		if i%3 == 0 { // two a second
			n++
			wg.Add(1)
			go try(attacker, "127.0.0.2", fmt.Sprintf("guess number %d", n), at)
		}
		if i%2 == 0 { // three a second, from each address in turn
			ip := fmt.Sprintf("127.0.0.%d", 3+k%7)
			k++
			wg.Add(1)
			go try(rotating[ip], "rotating", fmt.Sprintf("another guess %d", k), at)
		}
		if i%9 == 0 { // every 1.5 s
			wg.Add(1)
			go try(owner, "owner", password("planner"), at)
		}
		wg.Wait()
	}

	count := map[string]map[int]int{}
	for _, a := range tries {
		if count[a.from] == nil {
			count[a.from] = map[int]int{}
		}
		count[a.from][a.status]++
		switch {
		case a.from == "owner" && a.status != 200:
			t.Errorf("the owner at %v: %d after %v, want 200", a.at.Round(time.Millisecond), a.status, a.took.Round(time.Millisecond))
		case a.from != "owner" && a.status == 429:
			if s, err := strconv.Atoi(a.retryAfter); err != nil || s < 1 || s > int(throttleMax.Seconds()) {
				t.Errorf("%s at %v: 429 with Retry-After %q", a.from, a.at.Round(time.Millisecond), a.retryAfter)
			}
		case a.from != "owner" && a.status != 401:
			t.Errorf("%s at %v: %d, want 401 or 429", a.from, a.at.Round(time.Millisecond), a.status)
		}
	}
	t.Logf("statuses in %v: %v", dur, count)
	if count["owner"][200] < 3 {
		t.Errorf("the owner logged in %d times, want 3", count["owner"][200])
	}
	if got := count["127.0.0.2"][429]; got < 4 {
		t.Errorf("the attacker at 127.0.0.2 got 429 %d times in %v, want at least 4", got, dur)
	}
	if got := count["127.0.0.2"][401]; got > 6 {
		t.Errorf("%d guesses from 127.0.0.2 were checked in %v, want at most 6", got, dur)
	}
	if got := count["rotating"][429]; got < 2 {
		t.Errorf("the rotating attacker got 429 %d times, want at least 2", got)
	}

	// An admin sees who is held, and clears the account.
	var list throttlesResponse
	e.do("admin", "GET", "/api/throttles", nil, 200, &list)
	seen := map[string]bool{}
	for _, th := range list.Throttles {
		who := th.Address
		if strings.HasPrefix(who, "127.0.0.") && who != "127.0.0.2" {
			who = "rotating"
		}
		seen[th.Kind+" "+who+" "+th.Account] = true
		if th.Kind == throttleAccount && th.Account == victim && th.UnderAttack != (th.Failures >= throttleAttacked) {
			t.Errorf("the account with %d failures is under attack: %v", th.Failures, th.UnderAttack)
		}
	}
	for _, want := range []string{"address+account 127.0.0.2 " + victim, "address 127.0.0.2 ", "account  " + victim, "address+account rotating " + victim} {
		if !seen[want] {
			t.Errorf("GET /api/throttles does not list %q: %+v", want, list.Throttles)
		}
	}
	e.do("viewer", "GET", "/api/throttles", nil, 403, nil)
	var cleared throttleCleared
	e.do("admin", "DELETE", "/api/throttles/"+victim, nil, 200, &cleared)
	if cleared.Cleared != "account:"+victim || cleared.Entries < 4 {
		t.Errorf("cleared %+v", cleared)
	}
	if status, _ := loginAs(t, attacker, base, victim, "one more guess"); status != 401 {
		t.Errorf("after the account's throttle is cleared, a guess from 127.0.0.2: %d, want 401 (checked)", status)
	}
	e.do("admin", "DELETE", "/api/throttles/address/127.0.0.2", nil, 200, &cleared)
	if cleared.Cleared != "address:127.0.0.2" {
		t.Errorf("cleared %+v", cleared)
	}
	e.do("admin", "DELETE", "/api/throttles/address/not-an-ip", nil, 400, nil)
	entries, err := e.store.ListAudit(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, en := range entries {
		if en.Action == "throttle.clear" && en.Actor == "admin-user" {
			audited++
		}
	}
	if audited != 2 {
		t.Errorf("%d throttle clears audited, want 2", audited)
	}
}

// TestDeviceCookiePassesBehindTheAttackersAddress: the owner shares the
// attacker's address (one NAT for a whole office). Having logged in from
// this browser before, the owner holds a device cookie and gets in while
// the attacker, from the same address, waits.
func TestDeviceCookiePassesBehindTheAttackersAddress(t *testing.T) {
	// The clock stands still: a wait, once begun, does not run out.
	now := time.Now()
	e := newEnvCity(t, openSQLite(t), false, func(c *Config) {
		c.LoginRate, c.LoginBurst = 0, 0
		c.Now = func() time.Time { return now }
	})
	const victim = "field-user"
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	owner := clientFrom("127.0.0.5", jar)
	resp, err := owner.Post(e.srv.URL+"/api/login", "application/json", bytes.NewReader(mustJSON(loginRequest{Name: victim, Password: password("field")})))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
		t.Fatalf("first login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.Secure || ck.Path != "/api/login" || ck.SameSite != http.SameSiteStrictMode || ck.MaxAge < 30*24*3600 {
		t.Errorf("device cookie %+v: want HttpOnly, Path /api/login, SameSite Strict, not Secure over plain HTTP, months", ck)
	}

	attacker := clientFrom("127.0.0.5", nil)
	got429 := false
	for i := range 6 {
		status, ra := loginAs(t, attacker, e.srv.URL, victim, fmt.Sprintf("wrong guess %d", i))
		got429 = got429 || (status == 429 && ra != "")
	}
	if !got429 {
		t.Fatal("six wrong passwords in a row from one address: no 429")
	}
	if status, _ := loginAs(t, owner, e.srv.URL, victim, password("field")); status != 200 {
		t.Errorf("the owner with the device cookie, from the attacker's address: %d, want 200", status)
	}
	if status, _ := loginAs(t, attacker, e.srv.URL, victim, password("field")); status != 429 {
		t.Errorf("the right password from the attacker's address without the cookie: %d, want 429 (it must wait)", status)
	}
	// A forged cookie is no cookie, nor is one of another account.
	forgedJar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := *ck
	forged.Value = "A" + ck.Value[1:]
	u, _ := url.Parse(e.srv.URL + "/api/login")
	forgedJar.SetCookies(u, []*http.Cookie{&forged})
	if status, _ := loginAs(t, clientFrom("127.0.0.5", forgedJar), e.srv.URL, victim, password("field")); status != 429 {
		t.Errorf("a forged device cookie: %d, want 429", status)
	}
	other := *ck
	other.Name = e.api.deviceCookieName("viewer-user")
	otherJar, _ := cookiejar.New(nil)
	otherJar.SetCookies(u, []*http.Cookie{&other})
	for range 4 {
		loginAs(t, attacker, e.srv.URL, "viewer-user", "wrong")
	}
	if status, _ := loginAs(t, clientFrom("127.0.0.5", otherJar), e.srv.URL, "viewer-user", password("viewer")); status != 429 {
		t.Errorf("the field user's device cookie renamed for the viewer: %d, want 429", status)
	}
}

// TestThrottleClearedElsewhere: `muster user unthrottle`, or an admin on
// another instance, clears what this server holds: the store announces
// it, the server forgets.
func TestThrottleClearedElsewhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "muster.db")
	keys := storetest.NewKeys()
	open := func() muster.Store {
		st, err := sqlite.Open(context.Background(), path, keys.DataKeys())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	e := newEnvCity(t, open(), false, nil)
	cli := open() // another process on the same database
	attacker := clientFrom("127.0.0.2", nil)
	for i := range 4 {
		loginAs(t, attacker, e.srv.URL, "planner-user", fmt.Sprintf("guess %d", i))
	}
	held := func(account string) int {
		n := 0
		for _, th := range e.api.throttle.list(time.Now()) {
			if th.Account == account || (account == "" && th.Address == "127.0.0.2") {
				n++
			}
		}
		return n
	}
	if held("planner-user") == 0 {
		t.Fatal("no throttle after four failures")
	}
	if err := cli.ClearThrottle(muster.WithActor(context.Background(), "cli:ops"), "account:planner-user"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for held("planner-user") > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := held("planner-user"); n > 0 {
		t.Errorf("%d entries of the account still held after another process cleared it", n)
	}
	if err := cli.ClearThrottle(context.Background(), "address:127.0.0.2"); err != nil {
		t.Fatal(err)
	}
	for held("") > 0 && time.Now().Before(deadline.Add(5*time.Second)) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := held(""); n > 0 {
		t.Errorf("%d entries of 127.0.0.2 still held after another process cleared it", n)
	}
}
