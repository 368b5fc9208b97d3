package udp

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/wire"
)

// Socket errors (and stack.ErrClosed, stack.ErrNoBuffers, stack.ErrNoSource,
// stack.ErrBadAddress, which every transport returns).
var (
	ErrQueueFull = errors.New("udp: socket transmit ring full")
	ErrTooLong   = errors.New("udp: datagram too long")
)

// Layout of a packet a socket sends: Originate's, then UDP and the data.
const txData = stack.OriginL4 + wire.UDPLen

// MaxPayload is the largest datagram a socket sends (one buffer, no
// fragmentation). Larger than the egress MTU allows is dropped by
// ip4-rewrite.
const MaxPayload = pkt.DataCap - txData

// MaxPayload6 is MaxPayload for IPv6 destinations (a 40-byte IP header).
const MaxPayload6 = pkt.DataCap - stack.OriginL4v6 - wire.UDPLen

// Message is one datagram of a batch: Buf holds the data (N bytes of it are
// valid after a read; Buf[:N] is sent on a write), Addr the remote address.
type Message struct {
	Buf  []byte
	N    int
	Addr netip.AddrPort
}

// Socket is a UDP endpoint served by the graph. Its methods are safe for
// concurrent use and never block: package sock builds blocking,
// deadline-aware net.PacketConn semantics on Recv/BeginWait/Ready.
//
// Receive: one SPSC ring per worker (producer: that worker's udp4-input;
// consumer: whoever holds rxMu). Transmit: one SPSC ring to the home
// worker (producer: whoever holds txMu; consumer: the home worker's
// udp4-socket-output).
type Socket struct {
	u    *UDP
	id   uint16
	port uint16
	addr netip.Addr // bound address; the zero Addr when bound to none
	fam  uint8      // families it takes (famOf(addr))
	home int
	rx   []*stack.Ring
	tx   *stack.Ring

	notify  chan struct{} // capacity 1; a token means "look again"
	waiters atomic.Int32  // readers between BeginWait and EndWait
	closed  atomic.Bool
	soErr   atomic.Int32 // pending error (a syscall.Errno) from ICMP; 0 = none
	rxHeld  atomic.Int32 // buffers in the receive queues (Config.SocketQueue)

	rxMu   sync.Mutex
	rxNext int
	txMu   sync.Mutex
	ip     wire.IPv4Emitter // under txMu
	remote netip.AddrPort   // peer of a connected socket, under txMu
	txIdx  []pkt.Index      // SendBatch scratch, under txMu
	rxFree []pkt.Index      // RecvBatch scratch, under rxMu
}

// Open binds a socket to laddr: an address of the host (IPv4 or IPv6) or
// an unspecified one, and a port (0 = an ephemeral one). Bound to 0.0.0.0
// it takes IPv4 only, to :: (or the zero Addr) both families, as Linux's
// sockets with bindv6only=0; a specific address takes its own family.
func (u *UDP) Open(laddr netip.AddrPort) (*Socket, error) {
	a := laddr.Addr().Unmap()
	so := &Socket{u: u, notify: make(chan struct{}, 1), tx: stack.NewRing(u.cfg.TxRing),
		txIdx: make([]pkt.Index, 0, 64), rxFree: make([]pkt.Index, 0, 64)}
	so.fam = famOf(a)
	if a.IsValid() {
		so.addr = a.WithZone("")
	}
	bound := so.addr
	if bound.IsUnspecified() {
		bound = netip.Addr{} // any address of so.fam
	}
	so.rx = make([]*stack.Ring, u.s.Workers())
	for w := range so.rx {
		so.rx[w] = stack.NewRing(u.cfg.RxRing)
	}
	id, port, err := u.ports.Bind(laddr.Port(), endpoint{kind: epSocket, fam: so.fam, addr: bound, sock: so})
	if err != nil {
		return nil, err
	}
	so.id, so.port = id, port
	so.home = int(id) % u.s.Workers()
	return so, nil
}

// LocalAddr returns the bound address and port.
func (so *Socket) LocalAddr() netip.AddrPort {
	a := so.addr
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	return netip.AddrPortFrom(a, so.port)
}

// Close unbinds the socket, waits until no worker can reach it and frees
// every queued buffer. Readers waiting on Ready are woken. Close is
// idempotent. It waits for the workers, so it must not be called on a
// worker (from a handler).
func (so *Socket) Close() error {
	if so.closed.Swap(true) {
		return nil
	}
	select {
	case so.notify <- struct{}{}:
	default:
	}
	so.u.ports.Unbind(so.port, so.id, func() {
		so.rxMu.Lock()
		so.txMu.Lock()
		var buf [64]pkt.Index
		drain := func(r *stack.Ring) {
			for {
				n := 0
				for n < len(buf) {
					i, ok := r.Pop()
					if !ok {
						break
					}
					buf[n] = i
					n++
				}
				if n == 0 {
					return
				}
				so.u.s.AppFree(buf[:n])
			}
		}
		for _, r := range so.rx {
			drain(r)
		}
		so.u.released(so, int(so.rxHeld.Load())) // no worker adds any more
		drain(so.tx)
		so.txMu.Unlock()
		so.rxMu.Unlock()
	})
	return nil
}

// Connect makes the socket connected to raddr: it then receives only
// datagrams from raddr, and ICMP errors about its datagrams to raddr
// become its pending error (PendingError).
func (so *Socket) Connect(raddr netip.AddrPort) error {
	a := raddr.Addr().Unmap().WithZone("")
	if !a.IsValid() || a.IsUnspecified() || raddr.Port() == 0 {
		return stack.ErrBadAddress
	}
	if famOf(a)&so.fam == 0 {
		return stack.ErrFamily
	}
	if so.closed.Load() {
		return stack.ErrClosed
	}
	err := so.u.ports.Update(so.port, so.id, func(ep *endpoint) { ep.raddr, ep.rport = a, raddr.Port() })
	if err != nil {
		return err
	}
	so.txMu.Lock()
	so.remote = netip.AddrPortFrom(a, raddr.Port())
	so.txMu.Unlock()
	return nil
}

// Remote returns the peer of a connected socket, or the zero AddrPort.
func (so *Socket) Remote() netip.AddrPort {
	so.txMu.Lock()
	defer so.txMu.Unlock()
	return so.remote
}

// setError records an ICMP-reported error and wakes a reader. Worker side.
func (so *Socket) setError(e syscall.Errno) {
	so.soErr.Store(int32(e))
	so.Wake()
}

// PendingError returns and clears the error an ICMP message reported for
// a connected socket (a syscall.Errno such as ECONNREFUSED), or nil.
func (so *Socket) PendingError() error {
	if so.soErr.Load() == 0 {
		return nil
	}
	if e := so.soErr.Swap(0); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}

// Closed reports whether Close was called.
func (so *Socket) Closed() bool { return so.closed.Load() }

// signal wakes a waiting reader; called by workers after queuing.
func (so *Socket) signal() {
	if so.waiters.Load() > 0 {
		select {
		case so.notify <- struct{}{}:
		default:
		}
	}
}

// Ready returns the channel a reader waits on between BeginWait and
// EndWait: a value means "try again" (data, or Close).
func (so *Socket) Ready() <-chan struct{} { return so.notify }

// Wake makes a waiting reader try again (for deadline changes).
func (so *Socket) Wake() {
	select {
	case so.notify <- struct{}{}:
	default:
	}
}

// BeginWait registers a reader about to wait on Ready. It reports false,
// registering nothing, when a datagram is already queued or the socket is
// closed, so the reader should try Recv again instead of waiting.
func (so *Socket) BeginWait() bool {
	so.waiters.Add(1)
	if so.closed.Load() || so.soErr.Load() != 0 || so.rxPending() {
		so.waiters.Add(-1)
		return false
	}
	return true
}

// EndWait unregisters a reader registered by BeginWait.
func (so *Socket) EndWait() { so.waiters.Add(-1) }

func (so *Socket) rxPending() bool {
	for _, r := range so.rx {
		if !r.Empty() {
			return true
		}
	}
	return false
}

// popRx takes the next received buffer, round robin over the workers'
// rings. Caller holds rxMu.
func (so *Socket) popRx() (pkt.Index, bool) {
	nw := len(so.rx)
	for k := 0; k < nw; k++ {
		w := so.rxNext
		so.rxNext++
		if so.rxNext == nw {
			so.rxNext = 0
		}
		if i, ok := so.rx[w].Pop(); ok {
			return i, true
		}
	}
	return 0, false
}

// copyOut copies datagram i's payload into b and returns its length
// (truncated to len(b)) and source.
func (so *Socket) copyOut(i pkt.Index, b []byte) (int, netip.AddrPort) {
	a := so.u.s.Pool().Arena()
	m := a.Meta(i)
	d := a.Data(i)
	u := wire.UDP(d[m.L4:])
	n := copy(b, d[int(m.L4)+wire.UDPLen:int(m.L4)+int(u.Length())])
	if d[m.L3]>>4 == 6 {
		return n, netip.AddrPortFrom(netip.AddrFrom16(wire.IPv6(d[m.L3:]).Src()), u.SrcPort())
	}
	return n, netip.AddrPortFrom(netip.AddrFrom4(wire.IPv4(d[m.L3:]).Src()), u.SrcPort())
}

// Recv copies the next queued datagram into b (truncating it to len(b))
// and reports false when none is queued. It never blocks.
func (so *Socket) Recv(b []byte) (int, netip.AddrPort, bool) {
	so.rxMu.Lock()
	i, ok := so.popRx()
	if !ok {
		so.rxMu.Unlock()
		return 0, netip.AddrPort{}, false
	}
	n, from := so.copyOut(i, b)
	so.u.released(so, 1) // under rxMu, so that Close's drain counts it once
	so.rxMu.Unlock()
	var one [1]pkt.Index
	one[0] = i
	so.u.s.AppFree(one[:])
	if so.waiters.Load() > 0 && so.rxPending() {
		so.Wake() // pass the baton to another waiting reader
	}
	return n, from, true
}

// RecvBatch fills msgs with queued datagrams (Buf, N, Addr) and returns how
// many; 0 when none is queued. It never blocks.
func (so *Socket) RecvBatch(msgs []Message) int {
	so.rxMu.Lock()
	k := 0
	for k < len(msgs) {
		i, ok := so.popRx()
		if !ok {
			break
		}
		msgs[k].N, msgs[k].Addr = so.copyOut(i, msgs[k].Buf)
		so.rxFree = append(so.rxFree, i)
		k++
		if len(so.rxFree) == cap(so.rxFree) {
			so.u.s.AppFree(so.rxFree)
			so.rxFree = so.rxFree[:0]
		}
	}
	if len(so.rxFree) > 0 {
		so.u.s.AppFree(so.rxFree)
		so.rxFree = so.rxFree[:0]
	}
	if k > 0 {
		so.u.released(so, k) // under rxMu, so that Close's drain counts it once
	}
	so.rxMu.Unlock()
	if k > 0 && so.waiters.Load() > 0 && so.rxPending() {
		so.Wake()
	}
	return k
}

// build allocates a buffer and writes a complete IPv4/UDP or IPv6/UDP
// packet (the family of to) to to. Caller holds txMu.
func (so *Socket) build(b []byte, to netip.AddrPort) (pkt.Index, error) {
	if len(b) > MaxPayload {
		return 0, ErrTooLong
	}
	da := to.Addr().Unmap()
	if !da.IsValid() || da.IsUnspecified() || to.Port() == 0 {
		return 0, stack.ErrBadAddress
	}
	if famOf(da)&so.fam == 0 {
		return 0, stack.ErrFamily
	}
	if da.Is6() {
		if len(b) > MaxPayload6 {
			return 0, ErrTooLong
		}
		return so.build6(b, da.As16(), to.Port())
	}
	dst := da.As4()
	var src [4]byte
	if so.addr.Is4() {
		src = so.addr.As4()
	}
	if src == ([4]byte{}) {
		ok := false
		if so.u.cfg.Source != nil {
			src, ok = so.u.cfg.Source(dst)
		}
		if !ok {
			return 0, stack.ErrNoSource
		}
	}
	i, ok := so.u.s.AppAlloc()
	if !ok {
		return 0, stack.ErrNoBuffers
	}
	u := wire.UDP(stack.Originate(so.u.s.Pool().Arena(), i, &so.ip, wire.IPProtoUDP, src, dst, wire.UDPLen+len(b)))
	uf := wire.UDPFields{SrcPort: so.port, DstPort: to.Port(), Length: uint16(wire.UDPLen + len(b))}
	u.Encode(&uf)
	copy(u[wire.UDPLen:], b)
	u.SetChecksum(u.ComputeChecksum(src, dst))
	return i, nil
}

// build6 is build for an IPv6 destination.
func (so *Socket) build6(b []byte, dst [16]byte, port uint16) (pkt.Index, error) {
	var src [16]byte
	if so.addr.Is6() {
		src = so.addr.As16()
	}
	if src == ([16]byte{}) {
		ok := false
		if so.u.cfg.Source6 != nil {
			src, ok = so.u.cfg.Source6(dst)
		}
		if !ok {
			return 0, stack.ErrNoSource
		}
	}
	i, ok := so.u.s.AppAlloc()
	if !ok {
		return 0, stack.ErrNoBuffers
	}
	u := wire.UDP(stack.Originate6(so.u.s.Pool().Arena(), i, wire.IPProtoUDP, src, dst, wire.UDPLen+len(b)))
	uf := wire.UDPFields{SrcPort: so.port, DstPort: port, Length: uint16(wire.UDPLen + len(b))}
	u.Encode(&uf)
	copy(u[wire.UDPLen:], b)
	u.SetChecksum(u.ComputeChecksum6(src, dst))
	return i, nil
}

// Send queues one datagram to to. It never blocks: ErrQueueFull means the
// transmit ring is full (try again once the worker drained it).
func (so *Socket) Send(b []byte, to netip.AddrPort) error {
	so.txMu.Lock()
	if so.closed.Load() {
		so.txMu.Unlock()
		return stack.ErrClosed
	}
	i, err := so.build(b, to)
	if err != nil {
		so.txMu.Unlock()
		return err
	}
	if !so.tx.Push(i) {
		so.txMu.Unlock()
		var one [1]pkt.Index
		one[0] = i
		so.u.s.AppFree(one[:])
		return ErrQueueFull
	}
	so.txMu.Unlock()
	so.u.s.Worker(so.home).Kick(so.id)
	return nil
}

// SendBatch queues msgs[k].Buf[:msgs[k].N] to msgs[k].Addr in order and
// returns how many it queued; the error says why it stopped early.
func (so *Socket) SendBatch(msgs []Message) (int, error) {
	so.txMu.Lock()
	if so.closed.Load() {
		so.txMu.Unlock()
		return 0, stack.ErrClosed
	}
	k := 0
	var err error
	for ; k < len(msgs); k++ {
		var i pkt.Index
		i, err = so.build(msgs[k].Buf[:msgs[k].N], msgs[k].Addr)
		if err != nil {
			break
		}
		if !so.tx.Push(i) {
			var one [1]pkt.Index
			one[0] = i
			so.u.s.AppFree(one[:])
			err = ErrQueueFull
			break
		}
	}
	so.txMu.Unlock()
	if k > 0 {
		so.u.s.Worker(so.home).Kick(so.id)
	}
	return k, err
}
