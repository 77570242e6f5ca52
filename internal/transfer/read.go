package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// readBatch is how many lines a parsing goroutine takes at a time: enough that handing them over costs
// little, few enough that every goroutine has work until the end of the file.
const readBatch = 256

// readFile parses and checks every line on its own. Only an unreadable stream or header fails it; the
// problems of other lines are collected, so that SkipBad can leave them out. Each good object is encoded
// for writing (object.row) as soon as it is checked; its property map is dropped then, unless keepProps.
//
// Parsing a line and checking its properties depend on nothing else, and are most of what reading a large
// file costs, so one goroutine per core does that for batches of lines, while this one takes their results
// in line order for what depends on the lines before: repeated ids and userPrincipalNames. Property maps
// take several times the memory of the encoded objects: dropped at once, they are garbage the next
// collection reuses instead of a heap of gigabytes that every collection scans.
func readFile(ctx context.Context, r io.Reader, keepProps bool) (*file, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	if !sc.Scan() {
		return nil, scanError(sc.Err(), 1)
	}
	// Some Windows editors start a saved file with a byte order mark.
	if err := checkHeader(bytes.TrimPrefix(sc.Bytes(), []byte("\ufeff"))); err != nil {
		return nil, LineError{Line: 1, Err: err.Error()}
	}

	p := newPipeline(sc, keepProps)
	defer p.stop()
	f := &file{index: map[string]int{}}
	upns := map[string]int{} // UPNKey → line
	for b := range p.order {
		<-b.done
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for k := range b.lines {
			f.add(b.first+k, &b.lines[k], upns)
		}
		p.recycle(b)
	}
	if p.err != nil {
		return nil, p.err
	}
	return f, nil
}

// scanError is the error of a scanner that stopped before line n.
func scanError(err error, n int) error {
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return LineError{Line: n, Err: fmt.Sprintf("longer than %d bytes", maxLine)}
	case err != nil:
		return err
	case n == 1:
		return errors.New("empty input: not an orgraph export")
	}
	return nil
}

// line is what parsing one line gives.
type line struct {
	what    lineKind
	problem string  // lineBad: why; lineObject: the object's own problem, if any
	object  *object // lineObject
	sponsor sponsor // lineSponsor
}

type lineKind uint8

const (
	lineBlank lineKind = iota
	lineBad
	lineObject
	lineSponsor
)

// parser is what one parsing goroutine reuses from line to line.
type parser struct {
	props     map[string]any // decodeFast's map for the properties of a line
	enc       store.BulkEncoder
	keepProps bool
}

// parseLine parses line n on its own and prepares a good object for writing.
func (p *parser) parseLine(n int, b []byte) line {
	if len(bytes.TrimSpace(b)) == 0 {
		return line{}
	}
	bad := func(format string, args ...any) line {
		return line{what: lineBad, problem: fmt.Sprintf(format, args...)}
	}
	clear(p.props)
	rec, ok := decodeFast(b, p.props)
	if !ok {
		var err error
		if rec, err = decode(b); err != nil {
			return bad("%s", err)
		}
	}
	switch kind := directory.Kind(rec.Kind); kind {
	case directory.KindUser, directory.KindGroup, directory.KindOrgContact:
		o, msg := parseObject(n, kind, rec)
		if o.id == "" {
			return bad("%s", msg)
		}
		if msg == "" {
			msg = p.prepare(&o)
		}
		return line{what: lineObject, problem: msg, object: &o}
	case kindSponsor:
		switch {
		case rec.Orgraph != nil || rec.ID != "" || rec.Props != nil || rec.Manager != "":
			return bad(`a sponsor line has only "kind", "user" and "sponsor"`)
		case rec.User == "" || rec.Sponsor == "":
			return bad(`a sponsor line needs "user" and "sponsor"`)
		}
		return line{what: lineSponsor, sponsor: sponsor{line: n, user: rec.User, sponsor: rec.Sponsor}}
	case kindHeader:
		return bad("the header belongs on line 1 only")
	case "":
		return bad(`missing "kind"`)
	default:
		return bad("unknown kind %q", rec.Kind)
	}
}

// prepare encodes a good object for writing, while its properties are at hand, and points its strings
// at the encoded copy rather than at the line, so that Import can let go of the line and the properties.
func (p *parser) prepare(o *object) string {
	row, err := p.enc.Encode(&directory.Object{ID: o.id, Kind: o.kind, Props: o.props, ManagerID: o.manager})
	if err != nil {
		return "props: " + err.Error()
	}
	o.row, o.id, o.manager = row, row.ID(), row.ManagerID()
	if o.kind == directory.KindUser {
		o.upn = strings.Clone(o.props["userPrincipalName"].(string))
	}
	if !p.keepProps {
		o.props = nil
	}
	return ""
}

// add takes parsed line n into the file, checking what depends on the lines before it.
func (f *file) add(n int, l *line, upns map[string]int) {
	bad := func(format string, args ...any) {
		f.errs = append(f.errs, problem{LineError: LineError{Line: n, Err: fmt.Sprintf(format, args...)}})
	}
	switch l.what {
	case lineBad:
		bad("%s", l.problem)
	case lineSponsor:
		f.sponsors = append(f.sponsors, l.sponsor)
	case lineObject:
		o := l.object
		if first, dup := f.index[o.id]; dup {
			bad("id %q is on line %d too", o.id, f.objects[first].line)
			return
		}
		msg := l.problem
		if msg == "" && o.kind == directory.KindUser {
			if line, dup := upns[o.row.UPNKey()]; dup {
				msg = fmt.Sprintf("userPrincipalName %q is on line %d too", o.upn, line)
			} else {
				upns[o.row.UPNKey()] = n
			}
		}
		// A bad object keeps its id, so the lines that refer to it can say why they are skipped.
		o.bad = msg != ""
		if o.bad {
			bad("%s", msg)
		}
		f.index[o.id] = len(f.objects)
		f.objects = append(f.objects, o)
	}
}

// batch is readBatch lines, from line first on, on their way through the pipeline.
type batch struct {
	first int
	data  []byte // the lines, back to back
	ends  []int  // where each line ends in data
	lines []line // the parsed lines, once done is closed
	done  chan struct{}
}

// pipeline reads batches of lines from a scanner on one goroutine and parses them on others. order yields
// the batches in line order; err is the scanner's error once order is closed.
type pipeline struct {
	order chan *batch
	err   error
	free  chan *batch
	quit  chan struct{}
	wg    sync.WaitGroup
}

func newPipeline(sc *bufio.Scanner, keepProps bool) *pipeline {
	workers := runtime.GOMAXPROCS(0)
	p := &pipeline{
		order: make(chan *batch, 4*workers),
		free:  make(chan *batch, 4*workers+workers+1),
		quit:  make(chan struct{}),
	}
	work := make(chan *batch, workers)
	p.wg.Go(func() {
		defer close(p.order)
		defer close(work)
		n := 1
		b := p.batch(n + 1)
		send := func() bool {
			select {
			case work <- b:
			case <-p.quit:
				return false
			}
			select {
			case p.order <- b:
			case <-p.quit:
				return false
			}
			return true
		}
		for sc.Scan() {
			n++
			b.data = append(b.data, sc.Bytes()...)
			b.ends = append(b.ends, len(b.data))
			if len(b.ends) == readBatch {
				if !send() {
					return
				}
				b = p.batch(n + 1)
			}
		}
		if len(b.ends) > 0 && !send() {
			return
		}
		p.err = scanError(sc.Err(), n+1)
	})
	for range workers {
		p.wg.Go(func() {
			ps := parser{props: map[string]any{}, keepProps: keepProps}
			for b := range work {
				start := 0
				for k, end := range b.ends {
					b.lines = append(b.lines, ps.parseLine(b.first+k, b.data[start:end]))
					start = end
				}
				close(b.done)
			}
		})
	}
	return p
}

// batch returns an empty batch for the lines from first on.
func (p *pipeline) batch(first int) *batch {
	select {
	case b := <-p.free:
		b.first = first
		return b
	default:
		return &batch{first: first, done: make(chan struct{})}
	}
}

// recycle hands a batch whose lines were taken back for reuse.
func (p *pipeline) recycle(b *batch) {
	clear(b.lines) // so that the objects the file holds on to are not held here too
	*b = batch{data: b.data[:0], ends: b.ends[:0], lines: b.lines[:0], done: make(chan struct{})}
	select {
	case p.free <- b:
	default:
	}
}

// stop ends the pipeline's goroutines and waits for them: the reader finishes the line it is reading.
func (p *pipeline) stop() {
	close(p.quit)
	p.wg.Wait()
}
