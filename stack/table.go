package stack

import (
	"fmt"
	"sync/atomic"
)

// MaxEndpoints bounds the sockets and handlers one endpoint table serves
// at a time; endpoint ids are 1..MaxEndpoints-1 (0 means "no endpoint").
const MaxEndpoints = 4096

// Ephemeral port range for sockets bound to port 0 (Linux's default).
const (
	EphemeralFirst = 32768
	EphemeralLast  = 60999
)

// PortTable is one immutable snapshot of a transport's demultiplexing
// state: destination port -> endpoint id -> endpoint. Nodes load it once
// per vector (between Worker.Enter and Leave) and index it per packet.
type PortTable[E any] struct {
	Ports [65536]uint16   // destination port -> endpoint id; 0 = none
	Eps   [MaxEndpoints]E // by id; Eps[0] is the zero "no endpoint"
}

// Ports is a transport's endpoint table, published by RCU: readers load
// the snapshot through an atomic pointer; writers (under the stack's lock)
// copy, edit and swap it, and an endpoint's id is reused only after a
// grace period (Stack.Grace), when no worker can still hold it.
type Ports[E any] struct {
	s       *Stack
	tab     atomic.Pointer[PortTable[E]]
	nextEph uint16   // under s.mu
	freeIDs []uint16 // under s.mu
}

// NewPorts returns an empty endpoint table of s.
func NewPorts[E any](s *Stack) *Ports[E] {
	p := &Ports[E]{s: s, nextEph: EphemeralFirst}
	for id := MaxEndpoints - 1; id >= 1; id-- {
		p.freeIDs = append(p.freeIDs, uint16(id))
	}
	p.tab.Store(new(PortTable[E]))
	return p
}

// Load returns the current snapshot; it must not be written.
func (p *Ports[E]) Load() *PortTable[E] { return p.tab.Load() }

// Bind finds the port for ep (port 0 = an ephemeral one), publishes it and
// returns the endpoint id and port.
func (p *Ports[E]) Bind(port uint16, ep E) (uint16, uint16, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	cur := p.tab.Load()
	if port == 0 {
		span := EphemeralLast - EphemeralFirst + 1
		for k := 0; k < span; k++ {
			q := p.nextEph
			p.nextEph++
			if p.nextEph > EphemeralLast {
				p.nextEph = EphemeralFirst
			}
			if cur.Ports[q] == 0 {
				port = q
				break
			}
		}
		if port == 0 {
			return 0, 0, ErrNoPorts
		}
	} else if cur.Ports[port] != 0 {
		return 0, 0, fmt.Errorf("%w: %d", ErrPortInUse, port)
	}
	if len(p.freeIDs) == 0 {
		return 0, 0, ErrNoEndpoints
	}
	id := p.freeIDs[len(p.freeIDs)-1]
	p.freeIDs = p.freeIDs[:len(p.freeIDs)-1]
	t := cur.clone()
	t.Ports[port] = id
	t.Eps[id] = ep
	p.tab.Store(t)
	return id, port, nil
}

// Update publishes a snapshot in which edit changed endpoint id of port,
// or returns ErrClosed when port no longer leads to id.
func (p *Ports[E]) Update(port, id uint16, edit func(*E)) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	cur := p.tab.Load()
	if cur.Ports[port] != id {
		return ErrClosed
	}
	t := cur.clone()
	edit(&t.Eps[id])
	p.tab.Store(t)
	return nil
}

// Unbind removes port's endpoint id, waits for the grace period and then
// calls done (with the stack's lock released) before the id may be
// reused. It does nothing when port no longer leads to id.
func (p *Ports[E]) Unbind(port, id uint16, done func()) {
	p.s.mu.Lock()
	cur := p.tab.Load()
	if cur.Ports[port] != id {
		p.s.mu.Unlock()
		return
	}
	t := cur.clone()
	t.Ports[port] = 0
	var zero E
	t.Eps[id] = zero
	p.tab.Store(t)
	p.s.mu.Unlock()
	p.s.Grace()
	if done != nil {
		done()
	}
	p.s.mu.Lock()
	p.freeIDs = append(p.freeIDs, id)
	p.s.mu.Unlock()
}

// clone returns a writable copy of t for the next snapshot.
func (t *PortTable[E]) clone() *PortTable[E] {
	c := new(PortTable[E])
	*c = *t
	return c
}

// seqLock is one worker's grace-period counter: odd while the worker runs
// one of the stack's nodes with a table snapshot in hand.
type seqLock struct {
	n atomic.Uint64
	_ [56]byte
}
