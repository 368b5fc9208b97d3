package sock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/udp"
)

// Message is one datagram of ReadBatch/WriteBatch: Buf holds the data, N
// its length (set by ReadBatch, read by WriteBatch), Addr the remote address.
type Message = udp.Message

// UDPConn is a UDP socket of the graph's host stack. It implements
// net.PacketConn; all methods are safe for concurrent use.
type UDPConn struct {
	so        *udp.Socket
	laddr     *net.UDPAddr
	raddr     *net.UDPAddr // nil unless connected (DialUDP)
	rd, wd    *deadline
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// errNoUDP is ListenUDP's error on a stack without the UDP transport.
var errNoUDP = errors.New("sock: the stack has no UDP (see package stack/host)")

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
)

// ListenUDP opens a socket on s bound to laddr (an IPv4 or IPv6 address of
// the host, 0.0.0.0 for IPv4 only, :: for both families; port 0 picks an
// ephemeral port).
func ListenUDP(s *stack.Stack, laddr netip.AddrPort) (*UDPConn, error) {
	u := udp.Of(s)
	if u == nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(laddr), Err: errNoUDP}
	}
	so, err := u.Open(laddr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(laddr), Err: err}
	}
	return &UDPConn{so: so, laddr: net.UDPAddrFromAddrPort(so.LocalAddr()), rd: newDeadline(), wd: newDeadline(), done: make(chan struct{})}, nil
}

// DialUDP opens a socket bound to laddr (the zero AddrPort picks the
// unspecified address and an ephemeral port) and connected to raddr: it
// receives only raddr's datagrams, Write sends to raddr, and ICMP errors
// about its datagrams (port unreachable: syscall.ECONNREFUSED) fail the
// next Read or Write, as a connected socket does on Linux.
func DialUDP(s *stack.Stack, laddr, raddr netip.AddrPort) (*UDPConn, error) {
	c, err := ListenUDP(s, laddr)
	if err != nil {
		err.(*net.OpError).Op = "dial"
		return nil, err
	}
	if err := c.so.Connect(raddr); err != nil {
		c.Close()
		return nil, &net.OpError{Op: "dial", Net: "udp", Source: c.laddr, Addr: net.UDPAddrFromAddrPort(raddr), Err: mapSendErr(err)}
	}
	c.raddr = net.UDPAddrFromAddrPort(c.so.Remote())
	return c, nil
}

// RemoteAddr returns the peer of a connected conn (a *net.UDPAddr), or nil.
func (c *UDPConn) RemoteAddr() net.Addr { return c.remote() }

func (c *UDPConn) remote() net.Addr {
	if c.raddr == nil {
		return nil
	}
	return c.raddr
}

// Read reads one datagram into b (see ReadFromUDPAddrPort).
func (c *UDPConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFromUDPAddrPort(b)
	return n, err
}

// Write sends b to the peer of a connected conn.
func (c *UDPConn) Write(b []byte) (int, error) {
	if c.raddr == nil {
		return 0, c.opErr("write", nil, syscall.EDESTADDRREQ)
	}
	return c.write(b, c.raddr.AddrPort())
}

// Socket returns the underlying stack socket.
func (c *UDPConn) Socket() *udp.Socket { return c.so }

// LocalAddr returns the bound address, a *net.UDPAddr.
func (c *UDPConn) LocalAddr() net.Addr { return c.laddr }

func (c *UDPConn) opErr(op string, addr net.Addr, err error) error {
	if addr == nil {
		addr = c.remote()
	}
	return &net.OpError{Op: op, Net: "udp", Source: c.laddr, Addr: addr, Err: err}
}

func (c *UDPConn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait blocks until the socket may have data, the read deadline passes or
// the conn closes. It returns a non-nil error for the last two.
func (c *UDPConn) wait() error {
	for {
		if c.isClosed() {
			return net.ErrClosed
		}
		dl := c.rd.channel()
		select {
		case <-dl:
			return os.ErrDeadlineExceeded
		default:
		}
		if !c.so.BeginWait() {
			return nil
		}
		select {
		case <-c.so.Ready():
			c.so.EndWait()
			return nil
		case <-dl:
			c.so.EndWait()
		case <-c.done:
			c.so.EndWait()
		}
	}
}

// ReadFromUDPAddrPort reads one datagram into b (truncating it to len(b))
// and returns its length and source. It blocks until one arrives, the read
// deadline passes or the conn is closed. A pending ICMP-reported error of a
// connected conn is returned (and cleared) first.
func (c *UDPConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		if c.isClosed() {
			return 0, netip.AddrPort{}, c.opErr("read", nil, net.ErrClosed)
		}
		if c.rd.expired() {
			return 0, netip.AddrPort{}, c.opErr("read", nil, os.ErrDeadlineExceeded)
		}
		if err := c.so.PendingError(); err != nil {
			return 0, netip.AddrPort{}, c.opErr("read", nil, err)
		}
		if n, from, ok := c.so.Recv(b); ok {
			return n, from, nil
		}
		if err := c.wait(); err != nil {
			return 0, netip.AddrPort{}, c.opErr("read", nil, err)
		}
	}
}

// ReadFrom implements net.PacketConn; the address is a *net.UDPAddr.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadBatch blocks until at least one datagram is queued, then fills msgs
// with as many as are queued (each msgs[k].Buf receives the data, N its
// length, Addr its source) and returns how many.
func (c *UDPConn) ReadBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	for {
		if c.isClosed() {
			return 0, c.opErr("read", nil, net.ErrClosed)
		}
		if c.rd.expired() {
			return 0, c.opErr("read", nil, os.ErrDeadlineExceeded)
		}
		if err := c.so.PendingError(); err != nil {
			return 0, c.opErr("read", nil, err)
		}
		if n := c.so.RecvBatch(msgs); n > 0 {
			return n, nil
		}
		if err := c.wait(); err != nil {
			return 0, c.opErr("read", nil, err)
		}
	}
}

// mapSendErr turns a stack error into what package net would report.
func mapSendErr(err error) error {
	switch {
	case errors.Is(err, stack.ErrClosed):
		return net.ErrClosed
	case errors.Is(err, udp.ErrTooLong):
		return syscall.EMSGSIZE
	case errors.Is(err, stack.ErrNoSource):
		return syscall.ENETUNREACH
	case errors.Is(err, stack.ErrNoBuffers):
		return syscall.ENOBUFS
	case errors.Is(err, stack.ErrBadAddress):
		return syscall.EINVAL
	case errors.Is(err, stack.ErrFamily):
		return syscall.EAFNOSUPPORT
	}
	return err
}

// backoff waits a little for the worker to drain the transmit ring.
func backoff(spins int) {
	if spins < 64 {
		runtime.Gosched()
		return
	}
	time.Sleep(20 * time.Microsecond)
}

// WriteToUDPAddrPort sends b to addr. When the transmit ring is full it
// waits for room until the write deadline. When the stack has no free
// packet buffer it fails at once with ENOBUFS (as Linux may when an
// interface queue is full) instead of waiting: buffers are shared with
// received datagrams not yet read, so a goroutine that both reads and
// writes could wait for itself. A connected conn refuses it
// (net.ErrWriteToConnected), as package net does.
func (c *UDPConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.raddr != nil {
		return 0, c.opErr("write", net.UDPAddrFromAddrPort(addr), net.ErrWriteToConnected)
	}
	return c.write(b, addr)
}

func (c *UDPConn) write(b []byte, addr netip.AddrPort) (int, error) {
	for spins := 0; ; spins++ {
		if c.isClosed() {
			return 0, c.opErr("write", net.UDPAddrFromAddrPort(addr), net.ErrClosed)
		}
		if c.wd.expired() {
			return 0, c.opErr("write", net.UDPAddrFromAddrPort(addr), os.ErrDeadlineExceeded)
		}
		if err := c.so.PendingError(); err != nil {
			return 0, c.opErr("write", net.UDPAddrFromAddrPort(addr), err)
		}
		err := c.so.Send(b, addr)
		if err == nil {
			return len(b), nil
		}
		if !errors.Is(err, udp.ErrQueueFull) {
			return 0, c.opErr("write", net.UDPAddrFromAddrPort(addr), mapSendErr(err))
		}
		backoff(spins)
	}
}

// WriteTo implements net.PacketConn; addr must be a *net.UDPAddr.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return 0, c.opErr("write", addr, syscall.EINVAL)
	}
	return c.WriteToUDPAddrPort(b, ua.AddrPort())
}

// WriteBatch sends msgs[k].Buf[:msgs[k].N] to msgs[k].Addr, in order, and
// returns how many it sent; it waits for ring room until the write deadline
// and, like WriteToUDPAddrPort, stops with ENOBUFS when no buffer is free.
func (c *UDPConn) WriteBatch(msgs []Message) (int, error) {
	done := 0
	for spins := 0; done < len(msgs); spins++ {
		if c.isClosed() {
			return done, c.opErr("write", nil, net.ErrClosed)
		}
		if c.wd.expired() {
			return done, c.opErr("write", nil, os.ErrDeadlineExceeded)
		}
		if err := c.so.PendingError(); err != nil {
			return done, c.opErr("write", nil, err)
		}
		n, err := c.so.SendBatch(msgs[done:])
		done += n
		if err != nil && !errors.Is(err, udp.ErrQueueFull) {
			return done, c.opErr("write", net.UDPAddrFromAddrPort(msgs[done].Addr), mapSendErr(err))
		}
		if n > 0 {
			spins = 0
		}
		if done < len(msgs) {
			backoff(spins)
		}
	}
	return done, nil
}

// SetDeadline sets the read and write deadlines.
func (c *UDPConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; blocked readers re-evaluate it at
// once. A time in the past makes reads fail at once; zero means none.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", nil, net.ErrClosed)
	}
	c.rd.set(t)
	c.so.Wake()
	return nil
}

// SetWriteDeadline sets the write deadline (writes wait only when the
// transmit ring is full).
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", nil, net.ErrClosed)
	}
	c.wd.set(t)
	return nil
}

// Close closes the socket: blocked and later reads and writes fail with
// net.ErrClosed; every queued buffer is freed. A second Close fails.
func (c *UDPConn) Close() error {
	err := c.opErr("close", nil, net.ErrClosed)
	c.closeOnce.Do(func() {
		close(c.done)
		c.so.Close()
		c.rd.stop()
		c.wd.stop()
		err = nil
	})
	return err
}
