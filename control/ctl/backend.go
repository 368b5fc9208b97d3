package ctl

import (
	"errors"
	"fmt"
	"net/netip"
)

// Backend is what the control layer shows and changes: the daemon
// implements it, the CLI commands (Commands) and the HTTP API call it. Its
// methods may be called from several goroutines at once.
//
// Show methods return their rows and, when some workers did not answer, the
// rows they could gather with an error naming the missing workers.
// Operations return an *Error whose Kind says whose fault a failure is.
type Backend interface {
	Runtime() (RuntimeReport, error)
	Errors() ([]ErrorRow, error)
	Interfaces() ([]InterfaceRow, error)
	FIB() ([]FIBRow, error)
	Neighbors() (NeighborReport, error)
	Offload() ([]OffloadRow, error)
	Trace() ([]TraceRow, error)

	// RouteAdd installs (or replaces) a static route.
	RouteAdd(r Route) error
	// RouteDel removes a static route.
	RouteDel(prefix netip.Prefix) error
	// NeighborAdd installs a static ARP entry.
	NeighborAdd(n Neighbor) error
	// NeighborDel removes an ARP entry.
	NeighborDel(iface string, ip netip.Addr) error
	// AddressAdd adds an IPv4 address (with its subnet) to an interface.
	AddressAdd(iface string, p netip.Prefix) error
	// AddressDel removes an address from an interface.
	AddressDel(iface string, p netip.Prefix) error
	// LinkSet sets an interface administratively up or down.
	LinkSet(iface string, up bool) error
	// TraceAdd traces the next n packets on every worker.
	TraceAdd(n int) error
	// TraceClear drops the trace records.
	TraceClear() error
	// RuntimeClear zeroes the node statistics.
	RuntimeClear() error
	// ErrorsClear zeroes the error counters.
	ErrorsClear() error
}

// Route is a static route to add, as RouteAdd takes it (and the HTTP API's
// POST /api/v1/routes body).
type Route struct {
	Prefix    netip.Prefix `json:"prefix"`              // destination; host bits are cleared
	Via       []netip.Addr `json:"via"`                 // next hops, at least one (ECMP when several)
	Interface string       `json:"interface,omitempty"` // pin the next hops to this interface
}

// Neighbor is a static ARP entry to add (POST /api/v1/neighbors).
type Neighbor struct {
	Interface string     `json:"interface"`
	IP        netip.Addr `json:"ip"`
	MAC       string     `json:"mac"` // aa:bb:cc:dd:ee:ff
}

// MaxTrace bounds TraceAdd's n.
const MaxTrace = 10000

// Kind classifies an operation's failure; the HTTP API maps it to a status.
type Kind int

// Failure kinds.
const (
	Internal    Kind = iota // the daemon failed (500)
	BadInput                // the request is malformed or out of range (400)
	NotFound                // it names an interface, route or entry that does not exist (404)
	Conflict                // it clashes with the current state (409)
	Unsupported             // the data plane cannot do it (501)
	Unavailable             // a worker did not answer in time (503)
)

// Error is an operation's failure with its kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// KindOf returns err's kind: that of the first *Error in its chain, else
// Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
