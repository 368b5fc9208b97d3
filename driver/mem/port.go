package mem

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

// DefaultQueueLen is the number of frames a link holds when Config.QueueLen
// is zero.
const DefaultQueueLen = 4096

// Config describes one end of an in-memory link. The zero value (plus a
// name) is a fault-free port with DefaultQueueLen slots.
type Config struct {
	Name string
	// QueueLen is the capacity in frames of the link this end transmits on,
	// rounded up to a power of two. Frames sent to a full link are counted
	// in Stats.TxDrops.
	QueueLen int
	// Seed seeds the fault generator; the same seed gives the same faults
	// for the same traffic.
	Seed uint64
	// Probabilities in [0, 1], drawn per transmitted frame.
	Loss      float64 // the frame is lost on the wire (counted as sent)
	Duplicate float64 // the frame arrives twice
	Reorder   float64 // the frame swaps places with the next one in its vector
	Corrupt   float64 // one byte of the frame is flipped
	Truncate  float64 // the frame is cut to a random shorter length
}

// FaultStats counts the faults a port injected into what it sent. Written by
// the owning goroutine only.
type FaultStats struct {
	Lost, Duplicated, Reordered, Corrupted, Truncated uint64
}

// Port is one end of an in-memory link. It implements driver.Port; see the
// package comment for which goroutine may call what.
type Port struct {
	name   string
	rx     *ring // drained by Recv
	tx     *ring // filled by Send
	faulty bool  // reports whether any fault probability is non-zero
	cfg    Config
	rng    *rand.PCG
	stats  driver.Stats
	faults FaultStats
	closed bool

	// Test side, NewPort only. mu serialises Inject (the producer of rx)
	// and Sent/TakeSent (the consumer of tx) among test goroutines.
	mu   sync.Mutex
	test bool
	sent [][]byte // copies of frames drained from tx, oldest first
}

// NewPair returns two connected ports: what a sends, b receives, and the
// reverse. a's Config governs the link a→b (queue length, faults), b's the
// link b→a. It panics if a fault probability is outside [0, 1].
func NewPair(a, b Config) (*Port, *Port) {
	ab, ba := newRing(queueLen(a)), newRing(queueLen(b))
	return newPort(a, ba, ab), newPort(b, ab, ba)
}

// NewPort returns a port whose far end is the test: Inject queues frames for
// Recv, Sent and TakeSent return what Send transmitted. Until someone drains
// it, the transmit link fills up and further sends count as TxDrops, so an
// undrained port behaves as a bounded sink. It panics if a fault probability
// is outside [0, 1].
func NewPort(c Config) *Port {
	p := newPort(c, newRing(queueLen(c)), newRing(queueLen(c)))
	p.test = true
	return p
}

func queueLen(c Config) int {
	if c.QueueLen <= 0 {
		return DefaultQueueLen
	}
	return c.QueueLen
}

func newPort(c Config, rx, tx *ring) *Port {
	for _, f := range []struct {
		name string
		p    float64
	}{{"Loss", c.Loss}, {"Duplicate", c.Duplicate}, {"Reorder", c.Reorder}, {"Corrupt", c.Corrupt}, {"Truncate", c.Truncate}} {
		if math.IsNaN(f.p) || f.p < 0 || f.p > 1 {
			panic(fmt.Sprintf("mem: port %q: %s probability %v is outside [0, 1]", c.Name, f.name, f.p))
		}
	}
	return &Port{
		name:   c.Name,
		rx:     rx,
		tx:     tx,
		cfg:    c,
		faulty: c.Loss > 0 || c.Duplicate > 0 || c.Reorder > 0 || c.Corrupt > 0 || c.Truncate > 0,
		rng:    rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15),
	}
}

// Name returns the port's configured name.
func (p *Port) Name() string { return p.name }

// Recv appends up to v.Free() frames waiting on the link to v, each copied
// into a buffer allocated from c at pkt.Headroom. Frames stay on the link
// when c runs dry. It does not allocate and takes no lock.
func (p *Port) Recv(c *pkt.Cache, v *pkt.Vector) int {
	if p.closed {
		return 0
	}
	head, n := p.rx.pending()
	n = min(n, uint32(v.Free()))
	if n == 0 {
		return 0
	}
	a := c.Arena()
	dst := v.Idx[v.Len : v.Len+int(n)]
	got := c.AllocN(dst)
	bytes := 0
	for k, i := range dst[:got] {
		f := p.rx.frame(head + uint32(k))
		d, _ := a.SetData(i, pkt.Headroom, len(f))
		copy(d, f)
		bytes += len(f)
	}
	p.rx.release(head + uint32(got))
	v.Len += got
	p.stats.RxPackets += uint64(got)
	p.stats.RxBytes += uint64(bytes)
	return got
}

// Send copies every packet of v onto the link, applying the configured
// faults, frees the packets to c and empties v. Packets that do not fit
// (full link, or longer than pkt.DataCap) are counted in Stats.TxDrops; lost
// packets count as transmitted. It returns how many packets were
// transmitted. It does not allocate and takes no lock.
func (p *Port) Send(c *pkt.Cache, v *pkt.Vector) int {
	idx := v.Idx[:v.Len]
	if p.closed {
		p.stats.TxDrops += uint64(len(idx))
		c.FreeN(idx)
		v.Reset()
		return 0
	}
	a := c.Arena()
	pr := produce(p.tx)
	if p.faulty && p.cfg.Reorder > 0 {
		p.reorder(idx)
	}
	sent, bytes := 0, 0
	for _, i := range idx {
		d := a.Data(i)
		if len(d) > slotSize {
			p.stats.TxDrops++
			continue
		}
		if p.faulty {
			if !p.sendFaulty(&pr, d) {
				p.stats.TxDrops++
				continue
			}
		} else if !pr.put(d) {
			p.stats.TxDrops++
			continue
		}
		sent++
		bytes += len(d)
	}
	pr.commit()
	c.FreeN(idx)
	v.Reset()
	p.stats.TxPackets += uint64(sent)
	p.stats.TxBytes += uint64(bytes)
	return sent
}

// Stats returns the port's counters. Call it on the owning goroutine.
func (p *Port) Stats() driver.Stats { return p.stats }

// Faults returns the faults injected so far. Call it on the owning goroutine.
func (p *Port) Faults() FaultStats { return p.faults }

// Close stops the port: Recv returns nothing and Send drops. A port holds no
// packet buffers between calls (frames on a link are plain bytes), so there
// is nothing to return to c. The peer of a pair keeps working on its side.
func (p *Port) Close(c *pkt.Cache) error {
	p.closed = true
	return nil
}
