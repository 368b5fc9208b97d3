package graph

import (
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/pkt"
)

// Tap directions: where a runtime capture (VPP's "pcap trace") records
// packets. Rx is at the input nodes, Tx at interface-output, Drop at
// error-drop (and Node.Free).
const (
	TapRx uint8 = 1 << iota
	TapTx
	TapDrop
)

// TapRecord is one captured packet inside a TapBuffer.
type TapRecord struct {
	Time    int64  // Unix nanoseconds
	Off     uint32 // where the bytes start in TapBuffer.Data
	CapLen  uint32 // bytes kept (at most the tap's snap length)
	OrigLen uint32 // the packet's length
	Iface   uint16 // RxPort (rx, drop) or TxPort (tx)
	Err     uint16 // for drops: the graph error id (Graph.ErrorLabel)
	Dir     uint8  // TapRx, TapTx or TapDrop
}

// TapBuffer carries captured packets from a worker to the capture's writer:
// records and their bytes, in fixed-capacity slices made once.
type TapBuffer struct {
	Worker int
	Recs   []TapRecord
	Data   []byte
}

// NewTapBuffer makes a buffer for up to recs records holding up to bytes
// bytes of packet data.
func NewTapBuffer(recs, bytes int) *TapBuffer {
	return &TapBuffer{Recs: make([]TapRecord, 0, recs), Data: make([]byte, 0, bytes)}
}

// Tap records one worker's packets for a runtime capture. The control
// plane makes one per worker (NewTap), installs it with Graph.SetTap on the
// worker, and reads full buffers from the channel it gave. On the worker a
// Tap copies packets into its current buffer and, when that fills, sends it
// to the writer and takes a free one; it never blocks: with no free buffer
// the packets are counted as Lost. The budget, shared by all workers' taps,
// bounds the packets recorded across workers (VPP's "max N").
type Tap struct {
	Dirs   uint8 // TapRx|TapTx|TapDrop: what to record
	Iface  int   // record only this interface index; -1 for all
	Snap   int   // bytes kept per packet
	budget *atomic.Int64
	worker int
	cur    *TapBuffer
	free   <-chan *TapBuffer
	full   chan<- *TapBuffer
	// Recorded and Lost count packets; read them on the worker (or after
	// the tap is removed).
	Recorded, Lost uint64
}

// NewTap makes worker's tap. free holds the empty buffers (shared by all
// workers' taps) and full takes the filled ones; full must have room for
// every buffer there is, so that handing one over never blocks.
func NewTap(worker int, dirs uint8, ifc, snap int, budget *atomic.Int64, free <-chan *TapBuffer, full chan<- *TapBuffer) *Tap {
	return &Tap{Dirs: dirs, Iface: ifc, Snap: snap, budget: budget, worker: worker, free: free, full: full}
}

// SetTap installs t (nil removes the tap). Call it on the worker.
func (g *Graph) SetTap(t *Tap) { g.tap = t }

// Tap returns the installed tap, or nil: the nodes' one check per vector.
func (g *Graph) Tap() *Tap { return g.tap }

// ErrorLabel names error id as "node: error" (the drop reason of a
// captured packet). Safe from any goroutine: error names never change after
// Build.
func (g *Graph) ErrorLabel(id uint16) string { return g.errLabel(id) }

// Record records the packets of idx in direction dir (one of TapRx, TapTx,
// TapDrop) if the tap wants dir. The interface is each packet's TxPort for
// TapTx, else its RxPort; err, when not 0, is the drop's error id (else
// each packet's Meta.Error).
func (t *Tap) Record(a *pkt.Arena, idx []pkt.Index, dir uint8, err uint16) {
	if t.Dirs&dir == 0 || len(idx) == 0 {
		return
	}
	want := 0
	for _, i := range idx {
		if t.match(a.Meta(i), dir) {
			want++
		}
	}
	if want == 0 {
		return
	}
	left := t.budget.Add(-int64(want))
	take := want + int(min(left, 0))
	if take <= 0 {
		t.Flush() // the budget is spent: the writer gets what this worker holds
		return
	}
	now := time.Now().UnixNano()
	for _, i := range idx {
		if take == 0 {
			break
		}
		m := a.Meta(i)
		if !t.match(m, dir) {
			continue
		}
		take--
		t.add(now, m, a.Data(i), dir, err)
	}
	if left <= 0 {
		t.Flush()
	}
}

// match reports whether m passes the tap's interface filter.
func (t *Tap) match(m *pkt.Meta, dir uint8) bool {
	if t.Iface < 0 {
		return true
	}
	p := m.RxPort
	if dir == TapTx {
		p = m.TxPort
	}
	return int(p) == t.Iface
}

// add copies one packet into the current buffer, taking a new one when it
// is full.
func (t *Tap) add(now int64, m *pkt.Meta, data []byte, dir uint8, err uint16) {
	n := min(len(data), t.Snap)
	b := t.cur
	if b != nil && (len(b.Recs) == cap(b.Recs) || cap(b.Data)-len(b.Data) < n) {
		t.Flush()
		b = nil
	}
	if b == nil {
		select {
		case b = <-t.free:
			b.Worker = t.worker
			t.cur = b
		default:
			t.Lost++
			return
		}
	}
	if err == 0 {
		err = m.Error
	}
	p := m.RxPort
	if dir == TapTx {
		p = m.TxPort
	}
	off := len(b.Data)
	b.Data = append(b.Data, data[:n]...)
	b.Recs = append(b.Recs, TapRecord{Time: now, Off: uint32(off), CapLen: uint32(n), OrigLen: uint32(len(data)), Iface: p, Err: err, Dir: dir})
	t.Recorded++
}

// Flush hands the current buffer, if it holds anything, to the writer.
// Call it on the worker.
func (t *Tap) Flush() {
	b := t.cur
	if b == nil || len(b.Recs) == 0 {
		return
	}
	t.cur = nil
	t.full <- b // never blocks: full has room for every buffer
}

// Release hands back the tap's current buffer, even if empty, to the writer
// (after SetTap(nil), so that no buffer stays with a worker).
func (t *Tap) Release() {
	if b := t.cur; b != nil {
		t.cur = nil
		t.full <- b
	}
}
