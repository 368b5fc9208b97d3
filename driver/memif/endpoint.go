package memif

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/pkt"
)

// Role is which side of the memif protocol an endpoint plays.
type Role uint8

// Roles. The server (VPP's "master") listens on the socket and maps the
// client's memory; the client ("slave") connects and owns the memory.
const (
	Server Role = iota
	Client
)

func (r Role) String() string {
	if r == Client {
		return "client"
	}
	return "server"
}

// ParseRole parses "server" or "client" (or VPP's "master" and "slave").
func ParseRole(s string) (Role, error) {
	switch s {
	case "server", "master", "":
		return Server, nil
	case "client", "slave":
		return Client, nil
	}
	return 0, fmt.Errorf("memif: role %q: want server or client", s)
}

// Defaults applied by Open.
const (
	DefaultLog2RingSize = 10   // 1024 descriptors, as VPP and DPDK
	DefaultBufferSize   = 2048 // bytes per buffer, as VPP and DPDK
	DefaultRetry        = 200 * time.Millisecond
)

// Config describes one memif interface.
type Config struct {
	Name    string // this interface's name, sent to the peer (connect/connected)
	AppName string // this application's name (hello/init); default "vecnet"
	Socket  string // the control socket's path
	Role    Role
	ID      uint32 // the interface id both sides configure
	Secret  string // optional shared secret (up to 24 bytes), checked by the server
	Queues  int    // queue pairs; default 1. A client takes what the server allows
	// Log2RingSize is log2 of the descriptors per ring the client makes
	// (1..14); default DefaultLog2RingSize.
	Log2RingSize uint8
	// BufferSize is the size of each buffer the client makes; default
	// DefaultBufferSize. Larger frames are chained over several.
	BufferSize int
	// Retry is the client's delay between connection attempts; default
	// DefaultRetry.
	Retry time.Duration
	// Pool, for a client, makes the endpoint zero-copy: its buffer region
	// is the pool's arena, which must be shared (pkt.NewSharedArena), so
	// the rings carry arena slots and Port moves frames without copying
	// (Queue's Recv and Send then move nothing). The server maps the whole
	// arena: it can read and write every packet buffer of this process, the
	// same trust AF_XDP's UMEM gives the kernel; leave Pool nil (copy mode)
	// for a peer not trusted that far. A server ignores Pool: it uses the
	// client's memory and copies.
	Pool *pkt.Pool
}

// State is an endpoint's connection state.
type State int32

// Connection states.
const (
	Disconnected State = iota
	Connected
	Closed
)

func (s State) String() string {
	switch s {
	case Connected:
		return "connected"
	case Closed:
		return "closed"
	}
	return "disconnected"
}

// Counter names one kind of control-channel event an endpoint counts.
type Counter int

// Control-channel counters (see CounterNames).
const (
	CountConnects Counter = iota
	CountDisconnects
	CountBadMessage
	CountOutOfOrder
	CountBadVersion
	CountBadID
	CountBadSecret
	CountBadMode
	CountBadRegion
	CountBadRing
	CountPeerRefused
	CountSocketError
	numCounters
)

// CounterNames are the counters' names, VPP "show errors" style.
var CounterNames = [numCounters]string{
	"connects", "disconnects", "bad_message", "out_of_order", "bad_version", "bad_id",
	"bad_secret", "bad_mode", "bad_region", "bad_ring", "peer_refused", "socket_error",
}

// Endpoint is one memif interface: its control goroutine keeps a
// connection to the peer (accepting or dialling again after the peer goes
// away) and publishes each connection's rings to the queues.
type Endpoint struct {
	cfg    Config
	queues []*Queue
	state  atomic.Int32
	counts [numCounters]atomic.Uint64

	mu       sync.Mutex // guards the fields below (control side only)
	peerApp  string
	peerName string
	lastErr  string
	ln       *net.UnixListener
	conn     *net.UnixConn
	closing  bool
	done     chan struct{}
	exited   chan struct{}
	ports    []*Port // made by the first Ports call; Close drops their recyclers
}

// Open checks cfg, makes the queues and starts the control goroutine: a
// server listens on cfg.Socket at once, a client dials it until it answers.
func Open(cfg Config) (*Endpoint, error) {
	if cfg.Socket == "" {
		return nil, errors.New("memif: no socket path")
	}
	if cfg.AppName == "" {
		cfg.AppName = "vecnet"
	}
	if cfg.Queues <= 0 {
		cfg.Queues = 1
	}
	if cfg.Queues > 255 {
		return nil, fmt.Errorf("memif: %d queues: at most 255", cfg.Queues)
	}
	if cfg.Log2RingSize == 0 {
		cfg.Log2RingSize = DefaultLog2RingSize
	}
	if cfg.Log2RingSize > MaxLog2RingSize {
		return nil, fmt.Errorf("memif: log2 ring size %d: at most %d", cfg.Log2RingSize, MaxLog2RingSize)
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.BufferSize < 128 || cfg.BufferSize > 1<<16 {
		return nil, fmt.Errorf("memif: buffer size %d outside 128..65536", cfg.BufferSize)
	}
	if len(cfg.Secret) > SecretSize-1 {
		return nil, fmt.Errorf("memif: secret longer than %d bytes", SecretSize-1)
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.Role == Client && cfg.Pool != nil {
		a := cfg.Pool.Arena()
		if a.FD() < 0 {
			return nil, errors.New("memif: zero-copy needs a shared arena (pkt.NewSharedArena)")
		}
		if len(a.Memory()) > MaxRegionSize-1 {
			return nil, fmt.Errorf("memif: arena of %d bytes is too large for a region", len(a.Memory()))
		}
	}
	if cfg.Role == Server {
		cfg.Pool = nil
	}
	e := &Endpoint{cfg: cfg, done: make(chan struct{}), exited: make(chan struct{})}
	for range cfg.Queues {
		q, err := newQueue()
		if err != nil {
			e.closeQueues()
			return nil, fmt.Errorf("memif: queue: %w", err)
		}
		e.queues = append(e.queues, q)
	}
	if cfg.Role == Server {
		if err := e.listen(); err != nil {
			e.closeQueues()
			return nil, err
		}
		go e.serve()
	} else {
		go e.dial()
	}
	return e, nil
}

func (e *Endpoint) closeQueues() {
	for _, q := range e.queues {
		q.close()
	}
}

// listen binds the socket, replacing a stale socket file left by a
// process that died.
func (e *Endpoint) listen() error {
	if fi, err := os.Lstat(e.cfg.Socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(e.cfg.Socket)
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: e.cfg.Socket, Net: "unixpacket"})
	if err != nil {
		return fmt.Errorf("memif: listen on %s: %w", e.cfg.Socket, err)
	}
	e.ln = ln
	return nil
}

// Config returns the endpoint's configuration with defaults filled in.
func (e *Endpoint) Config() Config { return e.cfg }

// Queues returns the endpoint's queues; queue q is served by one owner.
func (e *Endpoint) Queues() []*Queue { return e.queues }

// ZeroCopy reports whether the endpoint's rings carry arena slots (a
// client with Config.Pool) rather than copies.
func (e *Endpoint) ZeroCopy() bool { return e.cfg.Pool != nil }

// State reports whether a peer is connected.
func (e *Endpoint) State() State { return State(e.state.Load()) }

// Count returns a control-channel counter.
func (e *Endpoint) Count(c Counter) uint64 { return e.counts[c].Load() }

// Peer returns the connected (or last) peer's application and interface
// names, and the last control-channel error.
func (e *Endpoint) Peer() (app, ifName, lastErr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peerApp, e.peerName, e.lastErr
}

// Info describes the endpoint for "show interfaces".
func (e *Endpoint) Info() string {
	app, name, lastErr := e.Peer()
	mode := "copy"
	if e.ZeroCopy() {
		mode = "zero-copy"
	}
	s := fmt.Sprintf("%s %s socket=%s id=%d queues=%d state=%s", e.cfg.Role, mode, e.cfg.Socket, e.cfg.ID, e.cfg.Queues, e.State())
	if app != "" || name != "" {
		s += fmt.Sprintf(" peer=%q peer-if=%q", app, name)
	}
	if lastErr != "" && e.State() != Connected {
		s += " last-error=" + fmt.Sprintf("%q", lastErr)
	}
	for c := CountDisconnects; c < numCounters; c++ {
		if n := e.Count(c); n > 0 {
			s += fmt.Sprintf(" %s=%d", CounterNames[c], n)
		}
	}
	return s
}

// Close stops the control goroutine, disconnects and releases everything.
// Call it after the queues' owners stopped using them.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return nil
	}
	e.closing = true
	close(e.done)
	if e.ln != nil {
		_ = e.ln.Close()
	}
	if e.conn != nil {
		_ = e.conn.Close()
	}
	e.mu.Unlock()
	<-e.exited
	e.closeQueues()
	// The queues are detached: no port of this endpoint is in the data
	// path, and the slots its zero-copy ports recycled may go back.
	e.mu.Lock()
	ports := e.ports
	e.mu.Unlock()
	for _, p := range ports {
		p.dropRecycler()
	}
	e.state.Store(int32(Closed))
	return nil
}

func (e *Endpoint) stopping() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// setConn records the current connection so that Close can cut it; it
// reports false (and closes c) when the endpoint is closing.
func (e *Endpoint) setConn(c *net.UnixConn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		if c != nil {
			_ = c.Close()
		}
		return false
	}
	e.conn = c
	return true
}

func (e *Endpoint) serve() {
	defer close(e.exited)
	for !e.stopping() {
		c, err := e.ln.AcceptUnix()
		if err != nil {
			if e.stopping() {
				return
			}
			e.counts[CountSocketError].Add(1)
			time.Sleep(e.cfg.Retry)
			continue
		}
		if !e.setConn(c) {
			return
		}
		e.run(c, serverHandshake)
	}
}

func (e *Endpoint) dial() {
	defer close(e.exited)
	for !e.stopping() {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: e.cfg.Socket, Net: "unixpacket"})
		if err == nil {
			if !e.setConn(c) {
				return
			}
			e.run(c, clientHandshake)
		}
		select {
		case <-e.done:
			return
		case <-time.After(e.cfg.Retry):
		}
	}
}

// run handshakes on c, publishes the session to the queues and holds it
// until the peer disconnects (or misbehaves) or the endpoint closes.
func (e *Endpoint) run(c *net.UnixConn, handshake func(*net.UnixConn, *Config) (*session, error)) {
	defer func() {
		_ = c.Close()
		e.setConn(nil)
	}()
	s, err := handshake(c, &e.cfg)
	if err != nil {
		e.fail(c, err)
		return
	}
	e.mu.Lock()
	e.peerApp, e.peerName, e.lastErr = s.peerApp, s.peerName, ""
	e.mu.Unlock()
	for q, qs := range s.queues {
		if q < len(e.queues) {
			e.queues[q].attach(qs)
		}
	}
	e.counts[CountConnects].Add(1)
	e.state.Store(int32(Connected))
	err = e.hold(c)
	e.state.Store(int32(Disconnected))
	for _, q := range e.queues {
		q.detach()
	}
	s.close()
	e.counts[CountDisconnects].Add(1)
	e.fail(c, err)
}

// hold reads the control socket of a connected session: the only message
// allowed now is DISCONNECT; anything else is refused.
func (e *Endpoint) hold(c *net.UnixConn) error {
	for {
		m, fd, err := recvMsg(c, time.Time{})
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			return err
		}
		if m.Type == MsgDisconnect {
			return refuse(CountPeerRefused, "peer disconnected: %s (code %d)", m.Reason, m.Code)
		}
		return refuse(CountOutOfOrder, "%v message on a connected interface", m.Type)
	}
}

// fail counts err, tells the peer why (for a protocol error) and records it.
func (e *Endpoint) fail(c *net.UnixConn, err error) {
	if e.stopping() {
		return
	}
	var r *refusal
	if errors.As(err, &r) {
		e.counts[r.counter].Add(1)
		if r.counter != CountPeerRefused {
			_ = sendMsg(c, &Msg{Type: MsgDisconnect, Code: 1, Reason: r.text}, -1)
		}
	} else if !errors.Is(err, errPeerClosed) {
		e.counts[CountSocketError].Add(1)
	}
	e.mu.Lock()
	e.lastErr = err.Error()
	e.mu.Unlock()
}
