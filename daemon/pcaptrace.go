package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/vecnet/vecnet/control/ctl"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/driver/pcap"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/worker"
)

// Runtime capture, as VPP's "pcap trace": each worker's graph gets a
// graph.Tap that copies the packets it sees at the input nodes (rx),
// interface-output (tx) and error-drop (drop) into fixed buffers; a writer
// goroutine turns the full buffers into pcapng blocks. The workers never
// touch the file and never wait: with every buffer in the writer's queue a
// packet is counted as lost. When no capture runs, the nodes check one nil
// pointer per vector.

// Capture buffer sizes: per worker, pcapTraceBuffers buffers of
// pcapTraceRecs packets and pcapTraceBytes bytes.
const (
	pcapTraceBuffers = 8
	pcapTraceRecs    = 512
	pcapTraceBytes   = 512 << 10
	// pcapTraceFlushEvery is how often the writer collects the workers'
	// partly filled buffers, so that the file follows the traffic.
	pcapTraceFlushEvery = 200 * time.Millisecond
	// DefaultPcapTraceMax is "max N" when the command does not say.
	DefaultPcapTraceMax = 10000
	// DefaultPcapTraceSnap is the bytes kept per packet by default.
	DefaultPcapTraceSnap = 2048
)

// PcapTraceConfig is what "pcap trace" asked for.
type PcapTraceConfig struct {
	Dirs  uint8  // graph.TapRx|graph.TapTx|graph.TapDrop
	Iface string // "" for every interface
	Max   int    // packets, across workers
	Snap  int    // bytes per packet
	File  string
}

// pcapTrace is one running capture and its writer.
type pcapTrace struct {
	cfg    PcapTraceConfig
	file   *os.File
	bw     *bufio.Writer
	ng     *pcap.NGWriter
	ifID   map[uint16]int // interface index -> pcapng interface id
	taps   []*graph.Tap
	graphs []*graph.Graph
	budget atomic.Int64
	free   chan *graph.TapBuffer
	full   chan *graph.TapBuffer
	stop   chan struct{} // ends the flusher
	// flusherDone and writerDone close when those goroutines end.
	flusherDone, writerDone chan struct{}
	written                 atomic.Uint64
	err                     error // the writer's; read after writerDone
}

// pcapTraceState is the daemon's capture slot: at most one at a time.
type pcapTraceState struct {
	mu   sync.Mutex
	cur  *pcapTrace
	last string // summary of the last capture, for "show pcap"
}

// ParsePcapTrace parses the words after "pcap trace": any of rx, tx, drop
// (at least one), then "interface NAME", "max N", "snap BYTES", "file PATH"
// in any order.
func ParsePcapTrace(args []string) (PcapTraceConfig, error) {
	c := PcapTraceConfig{Max: DefaultPcapTraceMax, Snap: DefaultPcapTraceSnap}
	const usage = "usage: pcap trace [rx] [tx] [drop] [interface NAME] [max N] [snap BYTES] file PATH | pcap trace off"
	for k := 0; k < len(args); k++ {
		word := args[k]
		switch word {
		case "rx":
			c.Dirs |= graph.TapRx
			continue
		case "tx":
			c.Dirs |= graph.TapTx
			continue
		case "drop":
			c.Dirs |= graph.TapDrop
			continue
		case "interface", "max", "snap", "file":
		default:
			return c, fmt.Errorf("pcap trace: unknown word %q\n%s", word, usage)
		}
		if k+1 >= len(args) {
			return c, fmt.Errorf("pcap trace: %s needs a value\n%s", word, usage)
		}
		k++
		val := args[k]
		switch word {
		case "interface":
			c.Iface = val
		case "file":
			c.File = val
		case "max", "snap":
			n, err := strconv.Atoi(val)
			lo, hi := 1, 100_000_000
			if word == "snap" {
				lo, hi = 64, 65535
			}
			if err != nil || n < lo || n > hi {
				return c, fmt.Errorf("pcap trace: %s must be %d..%d, got %q", word, lo, hi, val)
			}
			if word == "max" {
				c.Max = n
			} else {
				c.Snap = n
			}
		}
	}
	if c.Dirs == 0 {
		return c, fmt.Errorf("pcap trace: say what to capture: rx, tx and/or drop\n%s", usage)
	}
	if c.File == "" {
		return c, fmt.Errorf("pcap trace: file PATH is required\n%s", usage)
	}
	return c, nil
}

// StartPcapTrace starts a capture. Only one runs at a time.
func (d *Daemon) StartPcapTrace(c PcapTraceConfig) error {
	d.pcap.mu.Lock()
	defer d.pcap.mu.Unlock()
	if d.pcap.cur != nil {
		return fmt.Errorf("pcap trace: a capture to %s is running (pcap trace off first)", d.pcap.cur.cfg.File)
	}
	filter := -1
	if c.Iface != "" {
		ifc := d.iface(c.Iface)
		if ifc == nil {
			return fmt.Errorf("pcap trace: no interface %q", c.Iface)
		}
		filter = int(ifc.Index)
	}
	f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("pcap trace: %w", err)
	}
	p := &pcapTrace{cfg: c, file: f, bw: bufio.NewWriterSize(f, 256<<10), ifID: map[uint16]int{},
		stop: make(chan struct{}), flusherDone: make(chan struct{}), writerDone: make(chan struct{})}
	if p.ng, err = pcap.NewNGWriter(p.bw, c.Snap, "vecnet"); err != nil {
		f.Close()
		return fmt.Errorf("pcap trace: %w", err)
	}
	for _, x := range d.DP.Ifaces.Load().All() {
		id, err := p.ng.AddInterface(x.Name)
		if err != nil {
			f.Close()
			return fmt.Errorf("pcap trace: %w", err)
		}
		p.ifID[x.Index] = id
	}
	nbuf := pcapTraceBuffers * max(len(d.Workers), 1)
	p.free = make(chan *graph.TapBuffer, nbuf)
	p.full = make(chan *graph.TapBuffer, nbuf)
	for range nbuf {
		p.free <- graph.NewTapBuffer(pcapTraceRecs, pcapTraceBytes)
	}
	p.budget.Store(int64(c.Max))
	p.taps = make([]*graph.Tap, len(d.Workers))
	p.graphs = make([]*graph.Graph, len(d.Workers))
	for w, wk := range d.Workers {
		p.taps[w] = graph.NewTap(w, c.Dirs, filter, c.Snap, &p.budget, p.free, p.full)
		p.graphs[w] = wk.Graph
	}
	go p.write()
	go p.flusher(d)
	err = d.OnWorkers(func(wk *worker.Worker) { wk.Graph.SetTap(p.taps[wk.ID]) })
	d.pcap.cur = p
	if err != nil {
		d.pcap.cur = nil
		d.pcap.last = p.finish(d)
		return fmt.Errorf("pcap trace: %w", err)
	}
	return nil
}

// StopPcapTrace ends the running capture, writes what the workers hold and
// closes the file. It returns a summary line.
func (d *Daemon) StopPcapTrace() (string, error) {
	d.pcap.mu.Lock()
	defer d.pcap.mu.Unlock()
	p := d.pcap.cur
	if p == nil {
		return "", errors.New("pcap trace: no capture is running")
	}
	d.pcap.cur = nil
	d.pcap.last = p.finish(d)
	return d.pcap.last, nil
}

// finish removes the taps, drains the writer and closes the file.
func (p *pcapTrace) finish(d *Daemon) string {
	close(p.stop)
	<-p.flusherDone // no flush runs on a worker once the taps are gone
	if err := d.OnWorkers(func(wk *worker.Worker) {
		wk.Graph.SetTap(nil)
		p.taps[wk.ID].Release()
	}); err != nil {
		// A wedged worker still has its tap and may hand it a buffer:
		// the writer keeps the file and its channel open.
		return fmt.Sprintf("capture to %s left open: %v", p.cfg.File, err)
	}
	close(p.full) // no tap holds it any more
	<-p.writerDone
	var lost uint64
	for _, t := range p.taps {
		lost += t.Lost
	}
	err := p.err
	if e := p.bw.Flush(); err == nil {
		err = e
	}
	if e := p.file.Close(); err == nil {
		err = e
	}
	s := fmt.Sprintf("wrote %d packets to %s, %d lost (no free capture buffer)", p.written.Load(), p.cfg.File, lost)
	if err != nil {
		s += "; write error: " + err.Error()
	}
	return s
}

// write is the writer goroutine: it turns full buffers into pcapng blocks
// and hands them back empty, until full is closed.
func (p *pcapTrace) write() {
	defer close(p.writerDone)
	for b := range p.full {
		for _, r := range b.Recs {
			if p.err != nil {
				break
			}
			id, ok := p.ifID[r.Iface]
			if !ok {
				continue // an interface added after the capture started
			}
			dir, comment := pcap.DirInbound, ""
			switch r.Dir {
			case graph.TapTx:
				dir = pcap.DirOutbound
			case graph.TapDrop:
				comment = "drop: " + p.graphs[b.Worker].ErrorLabel(r.Err)
			}
			p.err = p.ng.WritePacket(id, r.Time, b.Data[r.Off:r.Off+r.CapLen], int(r.OrigLen), dir, comment)
			if p.err == nil {
				p.written.Add(1)
			}
		}
		if p.err == nil {
			p.err = p.bw.Flush() // tshark can read the file while the capture runs
		}
		b.Recs, b.Data = b.Recs[:0], b.Data[:0]
		p.free <- b
	}
}

// flusher collects the workers' partly filled buffers every
// pcapTraceFlushEvery until stop.
func (p *pcapTrace) flusher(d *Daemon) {
	defer close(p.flusherDone)
	t := time.NewTicker(pcapTraceFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			d.OnWorkers(func(wk *worker.Worker) {
				if t := wk.Graph.Tap(); t != nil {
					t.Flush()
				}
			})
		}
	}
}

// status describes the running capture.
func (p *pcapTrace) status(d *Daemon) string {
	var rec, lost uint64
	d.OnWorkers(func(wk *worker.Worker) {
		if t := wk.Graph.Tap(); t != nil {
			rec += t.Recorded
			lost += t.Lost
		}
	})
	var dirs []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{graph.TapRx, "rx"}, {graph.TapTx, "tx"}, {graph.TapDrop, "drop"}} {
		if p.cfg.Dirs&x.bit != 0 {
			dirs = append(dirs, x.name)
		}
	}
	ifc := "every interface"
	if p.cfg.Iface != "" {
		ifc = "interface " + p.cfg.Iface
	}
	return fmt.Sprintf("capturing %s on %s to %s: %d of max %d packets recorded, %d written, %d lost; snap %d",
		strings.Join(dirs, " "), ifc, p.cfg.File, rec, p.cfg.Max, p.written.Load(), lost, p.cfg.Snap)
}

func (d *Daemon) pcapTraceCmd(w io.Writer, args []string) error {
	c, err := ParsePcapTrace(args)
	if err != nil {
		return err
	}
	if err := d.StartPcapTrace(c); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "capturing up to %d packets to %s\n", c.Max, c.File)
	return err
}

func (d *Daemon) pcapTraceOffCmd(w io.Writer, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("usage: pcap trace off")
	}
	s, err := d.StopPcapTrace()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, s)
	return err
}

func (d *Daemon) showPcapCmd(w io.Writer, _ []string) error {
	d.pcap.mu.Lock()
	defer d.pcap.mu.Unlock()
	switch {
	case d.pcap.cur != nil:
		_, err := fmt.Fprintln(w, d.pcap.cur.status(d))
		return err
	case d.pcap.last != "":
		_, err := fmt.Fprintln(w, "no capture running; last: "+d.pcap.last)
		return err
	}
	_, err := fmt.Fprintln(w, "no capture running")
	return err
}

// CaptureStart implements ctl.Backend: the CLI's pcap trace.
func (b backend) CaptureStart(c ctl.Capture) error {
	pc, err := ParsePcapTrace(c.Words())
	if err != nil {
		return ctl.Errorf(ctl.BadInput, "%v", err)
	}
	if err := b.d.StartPcapTrace(pc); err != nil {
		if b.d.capturing() {
			return ctl.Errorf(ctl.Conflict, "%v", err)
		}
		return ctl.Errorf(ctl.BadInput, "%v", err)
	}
	return nil
}

// CaptureStop implements ctl.Backend: pcap trace off.
func (b backend) CaptureStop() (ctl.Status, error) {
	s, err := b.d.StopPcapTrace()
	if err != nil {
		return ctl.Status{}, ctl.Errorf(ctl.Conflict, "%v", err)
	}
	return ctl.Status{Status: s}, nil
}

// CaptureStatus implements ctl.Backend: show pcap.
func (b backend) CaptureStatus() (ctl.Status, error) {
	var sb strings.Builder
	if err := b.d.showPcapCmd(&sb, nil); err != nil {
		return ctl.Status{}, err
	}
	return ctl.Status{Status: strings.TrimSpace(sb.String())}, nil
}

// capturing reports whether a capture runs.
func (d *Daemon) capturing() bool {
	d.pcap.mu.Lock()
	defer d.pcap.mu.Unlock()
	return d.pcap.cur != nil
}
