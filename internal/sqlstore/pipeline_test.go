package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestPipeline: every row is prepared once; wait(n) returns once rows
// below n are, and reports the lowest row that failed, as a loop would,
// however the workers were scheduled; after stop, the rows not begun are
// skipped.
func TestPipeline(t *testing.T) {
	const n = 10*pipelineChunk + 7
	var calls [n]atomic.Int32
	p := startPipeline(n, func(i int) error {
		calls[i].Add(1)
		return nil
	})
	ctx := context.Background()
	if err := p.wait(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if calls[i].Load() != 1 {
			t.Fatalf("wait(3) returned before row %d was prepared", i)
		}
	}
	if err := p.wait(ctx, n); err != nil {
		t.Fatal(err)
	}
	for i := range calls {
		if c := calls[i].Load(); c != 1 {
			t.Fatalf("row %d prepared %d times", i, c)
		}
	}

	fails := map[int]bool{5*pipelineChunk + 3: true, 5*pipelineChunk + 9: true, 8 * pipelineChunk: true}
	p = startPipeline(n, func(i int) error {
		if fails[i] {
			return fmt.Errorf("row %d", i)
		}
		return nil
	})
	if err := p.wait(ctx, 5*pipelineChunk); err != nil {
		t.Fatalf("rows before the first failure: %v", err)
	}
	for range 2 {
		if err := p.wait(ctx, n); err == nil || err.Error() != fmt.Sprintf("row %d", 5*pipelineChunk+3) {
			t.Fatalf("wait: %v, want the lowest row that failed", err)
		}
	}

	block := make(chan struct{})
	var prepared atomic.Int32
	p = startPipeline(n, func(i int) error {
		<-block // every worker is held in the chunk it began
		prepared.Add(1)
		return nil
	})
	p.stop()
	close(block)
	if err := p.wait(ctx, n); !errors.Is(err, errPipelineStopped) {
		t.Fatalf("wait after stop: %v", err)
	}
	if got := prepared.Load(); got > int32(runtime.GOMAXPROCS(0)*pipelineChunk) {
		t.Fatalf("%d rows prepared after stop, want at most the chunks begun", got)
	}
}
