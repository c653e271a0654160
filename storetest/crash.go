package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// The crash test: a child process writes (import batches and single
// households) and prints each write the store acknowledged; the parent
// kills it with SIGKILL at a random moment, several times, then checks that
// every acknowledged write is there and that no import batch is there in
// part.

const (
	envLocator = "STORETEST_CRASH_LOCATOR"
	envMaster  = "STORETEST_CRASH_MASTER"
	envRound   = "STORETEST_CRASH_ROUND"
	crashBatch = 20
)

// Locator is a DB that another process can open by a string (a file path,
// a URL).
type Locator interface{ Locator() string }

// OpenFunc opens a backend's store by locator.
type OpenFunc func(ctx context.Context, locator string, keys muster.DataKeys) (muster.Store, error)

// CrashChild is the writer RunCrash kills. A backend's tests declare it as
// a test of its own (RunCrash runs the test binary again with only that
// test); run in any other way it skips.
func CrashChild(t *testing.T, open OpenFunc) {
	loc := os.Getenv(envLocator)
	if loc == "" {
		t.Skip("the writer that TestCrash kills: runs only as TestCrash's child process")
	}
	master, err := hex.DecodeString(os.Getenv(envMaster))
	if err != nil || len(master) != 32 {
		fmt.Println("error bad master key")
		os.Exit(3)
	}
	keys := &Keys{}
	copy(keys.master[:], master)
	round, _ := strconv.Atoi(os.Getenv(envRound))
	ctx := muster.WithActor(context.Background(), "crash-child")
	s, err := open(ctx, loc, keys.DataKeys())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	for n := 0; ; n++ {
		if n%2 == 0 {
			if _, err := s.ImportHouseholds(ctx, crashHouseholds(round, n), muster.ImportOptions{}); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
			fmt.Printf("batch %d\n", n)
		} else {
			h := crashHousehold(round, n, 0)
			h.ID = fmt.Sprintf("R%d-S%d", round, n)
			if _, err := s.CreateHousehold(ctx, h); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
			fmt.Printf("one %d\n", n)
		}
	}
}

func crashHousehold(round, n, i int) muster.Household {
	h := household(i)
	h.ID = fmt.Sprintf("R%d-B%d-%02d", round, n, i)
	h.Phone = fmt.Sprintf("+1555%d%06d%02d", round, n, i)
	return h
}

func crashHouseholds(round, n int) []muster.Household {
	hs := make([]muster.Household, crashBatch)
	for i := range hs {
		hs[i] = crashHousehold(round, n, i)
	}
	return hs
}

// RunCrash kills a writing child process rounds times and checks what
// survived. childTest names the test that calls CrashChild.
func RunCrash(t *testing.T, fresh Fresh, childTest string, rounds int) {
	db := fresh(t)
	loc, ok := db.(Locator)
	if !ok {
		t.Skip("backend DB has no Locator: a child process cannot open it")
	}
	ctx := muster.WithActor(context.Background(), "tester")
	keys := NewKeys()
	s, err := db.Open(ctx, keys.DataKeys()) // makes the database and its key
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	lastN := map[int]int{}          // round -> last acknowledged n
	ackedBatches := map[int][]int{} // round -> acknowledged batch n
	ackedOnes := map[int][]int{}
	for round := 1; round <= rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), envLocator+"="+loc.Locator(), envMaster+"="+hex.EncodeToString(keys.master[:]),
			envRound+"="+strconv.Itoa(round))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 3 + rand.IntN(25)
		acks := 0
		lastN[round] = -1
		timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, num, _ := strings.Cut(sc.Text(), " ")
			n, err := strconv.Atoi(num)
			switch {
			case kind == "batch" && err == nil:
				ackedBatches[round] = append(ackedBatches[round], n)
			case kind == "one" && err == nil:
				ackedOnes[round] = append(ackedOnes[round], n)
			default:
				continue // go test's own output, or an "error" line shown below
			}
			lastN[round] = n
			if acks++; acks == killAfter {
				cmd.Process.Kill() // SIGKILL: no chance to finish anything
				break
			}
		}
		timer.Stop()
		cmd.Wait()
		if acks < killAfter {
			t.Fatalf("round %d: the writer stopped after %d writes, before it was killed:\n%s", round, acks, stderr.String())
		}
	}

	s, err = db.Open(ctx, keys.DataKeys())
	if err != nil {
		t.Fatalf("open after the crashes: %v", err)
	}
	defer s.Close()
	exists := func(id string) bool {
		_, err := s.GetHousehold(ctx, id)
		if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}
	total := 0
	for round := 1; round <= rounds; round++ {
		for _, n := range ackedOnes[round] {
			if !exists(fmt.Sprintf("R%d-S%d", round, n)) {
				t.Fatalf("round %d: acknowledged household R%d-S%d was lost", round, round, n)
			}
		}
		acked := map[int]bool{}
		for _, n := range ackedBatches[round] {
			acked[n] = true
		}
		// The batch in flight when the child died (n = last+1 or +2) must
		// be all there or not at all.
		for n := 0; n <= lastN[round]+2; n += 2 {
			present := 0
			for i := range crashBatch {
				if exists(crashHousehold(round, n, i).ID) {
					present++
				}
			}
			switch {
			case acked[n] && present != crashBatch:
				t.Fatalf("round %d: acknowledged import batch %d has %d of %d households", round, n, present, crashBatch)
			case present != 0 && present != crashBatch:
				t.Fatalf("round %d: import batch %d was stored in part: %d of %d households", round, n, present, crashBatch)
			}
			total += present
		}
		total += len(ackedOnes[round])
	}
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain after the crashes: %+v %v", v, err)
	}
	nb, no := 0, 0
	for round := 1; round <= rounds; round++ {
		nb, no = nb+len(ackedBatches[round]), no+len(ackedOnes[round])
	}
	t.Logf("%d rounds of SIGKILL: %d acknowledged import batches and %d acknowledged single households all there, no partial batch; %d households in all",
		rounds, nb, no, total)
}
