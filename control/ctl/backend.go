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
	ACLs() ([]ACLRow, error)
	Sessions() ([]SessionRow, error)
	NATSessions() ([]NATSessionRow, error)
	Policers() ([]PolicerRow, error)
	Bridges() ([]BridgeRow, error)
	BridgeMACs() ([]BridgeMACRow, error)

	// BridgeMACsClear forgets every bridge domain's learnt MACs.
	BridgeMACsClear() error
	LinuxCP() (LinuxCPReport, error)

	// RouteAdd installs (or replaces) a static route.
	RouteAdd(r Route) error
	// RouteDel removes a static route.
	RouteDel(prefix netip.Prefix) error
	// RouteBatch makes IPv4 route changes as one batch: readers see the
	// table before it or after all of it; on error nothing changes.
	RouteBatch(changes []RouteChange) (RouteBatchResult, error)
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
	// CaptureStart starts a runtime pcapng capture (VPP's pcap trace).
	CaptureStart(c Capture) error
	// CaptureStop stops the capture and says what it wrote.
	CaptureStop() (Status, error)
	// CaptureStatus says what the running capture is doing.
	CaptureStatus() (Status, error)
	// Reload re-reads the config file and applies the difference.
	Reload() (Status, error)
}

// Capture is a capture to start (POST /api/v1/capture), as the CLI's
// "pcap trace [rx] [tx] [drop] [interface NAME] [max N] [snap BYTES] file PATH".
type Capture struct {
	RX        bool   `json:"rx"`
	TX        bool   `json:"tx"`
	Drop      bool   `json:"drop"`
	Interface string `json:"interface,omitempty"`
	Max       int    `json:"max,omitempty"`
	Snap      int    `json:"snap,omitempty"`
	File      string `json:"file"`
}

// Words returns c as the CLI's pcap trace arguments.
func (c Capture) Words() []string {
	var w []string
	for _, f := range []struct {
		on   bool
		word string
	}{{c.RX, "rx"}, {c.TX, "tx"}, {c.Drop, "drop"}} {
		if f.on {
			w = append(w, f.word)
		}
	}
	if c.Interface != "" {
		w = append(w, "interface", c.Interface)
	}
	if c.Max != 0 {
		w = append(w, "max", fmt.Sprint(c.Max))
	}
	if c.Snap != 0 {
		w = append(w, "snap", fmt.Sprint(c.Snap))
	}
	return append(w, "file", c.File)
}

// Status is an operation's one-line account (a capture's counts, what a
// reload changed).
type Status struct {
	Status string `json:"status"`
}

// Route is a static route to add, as RouteAdd takes it (and the HTTP API's
// POST /api/v1/routes body).
type Route struct {
	Prefix    netip.Prefix `json:"prefix"`              // destination; host bits are cleared
	Via       []netip.Addr `json:"via"`                 // next hops, at least one (ECMP when several)
	Interface string       `json:"interface,omitempty"` // pin the next hops to this interface
}

// RouteChange is one change of a route batch (RouteBatch, the HTTP API's
// POST /api/v1/routes/batch, "ip route batch FILE"): add or replace Prefix
// via Via, or with Delete remove the static route at Prefix.
type RouteChange struct {
	Prefix    netip.Prefix `json:"prefix"`
	Via       []netip.Addr `json:"via,omitempty"`
	Interface string       `json:"interface,omitempty"`
	Delete    bool         `json:"delete,omitempty"`
}

// RouteBatchResult counts what a batch did.
type RouteBatchResult struct {
	Added   int `json:"added"`   // routes added or replaced
	Deleted int `json:"deleted"` // routes deleted
}

// MaxRouteBatch bounds the changes of one batch.
const MaxRouteBatch = 4 << 20

// CheckRouteBatch checks a batch's shape (sizes, prefixes, hops, IPv4),
// not the table: the backend reports unknown routes and hops.
func CheckRouteBatch(changes []RouteChange) error {
	if len(changes) == 0 || len(changes) > MaxRouteBatch {
		return Errorf(BadInput, "a batch holds 1..%d changes, got %d", MaxRouteBatch, len(changes))
	}
	for k, c := range changes {
		switch {
		case !c.Prefix.IsValid() || !c.Prefix.Addr().Is4():
			return Errorf(BadInput, "change %d: %q is not an IPv4 prefix", k, c.Prefix)
		case c.Delete && len(c.Via) > 0:
			return Errorf(BadInput, "change %d (%v): a delete takes no \"via\"", k, c.Prefix)
		case !c.Delete && len(c.Via) == 0:
			return Errorf(BadInput, "change %d (%v): an add needs \"via\" (at least one next hop)", k, c.Prefix)
		}
		for _, a := range c.Via {
			if !a.Is4() {
				return Errorf(BadInput, "change %d (%v): next hop %v is not IPv4", k, c.Prefix, a)
			}
		}
	}
	return nil
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
