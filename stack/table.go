package stack

import "sync/atomic"

// MaxEndpoints bounds the sockets and handlers one Stack serves at a time;
// endpoint ids are 1..MaxEndpoints-1 (0 means "no endpoint").
const MaxEndpoints = 4096

// Ephemeral port range for sockets bound to port 0 (Linux's default).
const (
	EphemeralFirst = 32768
	EphemeralLast  = 60999
)

type epKind uint8

const (
	epNone epKind = iota
	epHandler
	epSocket
)

// endpoint is what a port leads to. Endpoints are immutable once published.
type endpoint struct {
	kind    epKind
	addr    [4]byte // local address it is bound to; zero = any
	raddr   [4]byte // remote address of a connected socket
	rport   uint16  // remote port of a connected socket; 0 = not connected
	handler UDPHandler
	sock    *Socket
}

// table is one immutable snapshot of the demultiplexing state.
type table struct {
	ports [65536]uint16          // destination port -> endpoint id
	eps   [MaxEndpoints]endpoint // by id; eps[0] is the "no endpoint" endpoint
}

// clone returns a writable copy of t for the next snapshot.
func (t *table) clone() *table {
	c := new(table)
	*c = *t
	return c
}

// seqLock is one worker's grace-period counter: odd while the worker runs
// one of the stack's nodes with a table snapshot in hand.
type seqLock struct {
	n atomic.Uint64
	_ [56]byte
}
