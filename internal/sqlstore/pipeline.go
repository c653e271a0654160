package sqlstore

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
)

// A pipeline prepares the rows of a bulk write (encodes, checks, seals
// them) on every core, a chunk at a time and the chunks in order, while
// the writer inserts those already done: the one writer of SQLite then
// does not wait for the whole batch to be sealed before it starts, and
// the other cores keep sealing while it writes. wait(n) returns once
// rows [0, n) are done, with the error of the lowest row that failed
// (the one a loop would have returned); while it would wait, the writer
// prepares the next chunk no worker has taken, so neither it nor its
// core idles while there is something to prepare.
type pipeline struct {
	chunk   int
	n       int
	prepare func(i int) error
	next    atomic.Int64 // the next chunk to take
	done    []chan struct{}
	errs    []error
	waited  int // chunks wait has seen done; only the writer calls wait
	stopped atomic.Bool
}

// pipelineChunk rows are prepared by a worker at a time: enough that
// handing them out costs nothing, few enough that the writer starts soon.
const pipelineChunk = 256

var errPipelineStopped = errors.New("stopped")

// startPipeline prepares rows [0, n) with prepare, which must be safe to
// call for different rows at once; before, it hands the pipeline to each
// of before (a prepare that waits for earlier rows, waitAll).
func startPipeline(n int, prepare func(i int) error, before ...func(*pipeline)) *pipeline {
	return startPipelineOn(runtime.GOMAXPROCS(0), n, prepare, before...)
}

// startPipelineOn is startPipeline on that many workers (at least one).
// A write that runs while its rows are prepared leaves the writer a core:
// with a worker a core, the workers took two thirds of the writer's core
// and raced ahead, and then the writer wrote alone while the other core
// idled; with a worker fewer, and the writer preparing what it would
// otherwise wait for (wait), the two end together.
func startPipelineOn(workers, n int, prepare func(i int) error, before ...func(*pipeline)) *pipeline {
	chunks := (n + pipelineChunk - 1) / pipelineChunk
	p := &pipeline{chunk: pipelineChunk, n: n, prepare: prepare, done: make([]chan struct{}, chunks), errs: make([]error, chunks)}
	for c := range p.done {
		p.done[c] = make(chan struct{})
	}
	for _, f := range before {
		f(p)
	}
	for range min(max(workers, 1), chunks) {
		go func() {
			for p.take() {
			}
		}()
	}
	return p
}

// take prepares the next chunk no one has taken; false if none is left.
func (p *pipeline) take() bool {
	c := int(p.next.Add(1)) - 1
	if c >= len(p.done) {
		return false
	}
	if p.stopped.Load() {
		p.errs[c] = errPipelineStopped
	} else {
		for i := c * p.chunk; i < min((c+1)*p.chunk, p.n); i++ {
			if err := p.prepare(i); err != nil {
				p.errs[c] = err
				break
			}
		}
	}
	close(p.done[c])
	return true
}

// wait returns once rows [0, n) are prepared: nil, or the error of the
// lowest row that failed.
func (p *pipeline) wait(ctx context.Context, n int) error {
	for ; p.waited < len(p.done) && p.waited*p.chunk < n; p.waited++ {
	wait:
		for {
			select {
			case <-p.done[p.waited]:
				break wait
			case <-ctx.Done():
				return ctx.Err()
			default:
			}
			if !p.take() { // (a chunk after this one, or this one)
				select {
				case <-p.done[p.waited]:
					break wait
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		if err := p.errs[p.waited]; err != nil {
			return err
		}
	}
	return nil
}

// stop makes the workers skip the chunks they have not begun: the write
// is over (done, or failed) and will not wait for them.
func (p *pipeline) stop() { p.stopped.Store(true) }

// waitAll is wait for any goroutine: a worker's prepare may wait for rows
// before its own, which the workers took before (they take chunks in
// order), never for its own or later ones.
func (p *pipeline) waitAll(n int) error {
	for c := 0; c < len(p.done) && c*p.chunk < n; c++ {
		<-p.done[c]
		if err := p.errs[c]; err != nil {
			return err
		}
	}
	return nil
}
