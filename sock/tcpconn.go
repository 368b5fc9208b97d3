package sock

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
)

// TCPListener is a TCP listener of the graph's host stack (a listener on
// every worker). It implements net.Listener; http.Serve works on it.
type TCPListener struct {
	tl        *tcpnode.Listener
	addr      *net.TCPAddr
	done      chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*TCPListener)(nil)

// DefaultBacklog is ListenTCP's backlog per worker.
const DefaultBacklog = 128

// ListenTCP listens on laddr (an IPv4 or IPv6 address of the host, 0.0.0.0
// for IPv4 only, :: for both families, with a port).
func ListenTCP(s *stack.Stack, laddr netip.AddrPort) (*TCPListener, error) {
	t := tcpnode.Of(s)
	if t == nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(laddr), Err: tcpnode.ErrNoTCP}
	}
	tl, err := t.Listen(laddr, DefaultBacklog)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(laddr), Err: mapTCPErr("bind", err)}
	}
	return &TCPListener{tl: tl, addr: net.TCPAddrFromAddrPort(tl.Addr()), done: make(chan struct{})}, nil
}

// Accept waits for and returns the next connection (a *TCPConn).
func (l *TCPListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP waits for and returns the next connection.
func (l *TCPListener) AcceptTCP() (*TCPConn, error) {
	for {
		select {
		case <-l.done:
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
		default:
		}
		tc, err := l.tl.Accept()
		if err == nil {
			// Another Accept may be waiting for the next connection: let
			// it look too.
			l.tl.Wake()
			return newTCPConn(tc), nil
		}
		if err != tcp.ErrWouldBlock {
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: mapTCPErr("accept", err)}
		}
		select {
		case <-l.tl.Ready():
		case <-l.done:
		}
	}
}

// Close stops listening; blocked Accepts return net.ErrClosed.
func (l *TCPListener) Close() error {
	err := error(nil)
	first := false
	l.closeOnce.Do(func() { first = true; close(l.done); l.tl.Close() })
	if !first {
		err = &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	return err
}

// Addr returns the listener's address, a *net.TCPAddr.
func (l *TCPListener) Addr() net.Addr { return l.addr }

// TCPConn is a TCP connection of the graph's host stack. It implements
// net.Conn (plus CloseWrite, SetNoDelay, SetKeepAlive, SetLinger as
// *net.TCPConn has them); all methods are safe for concurrent use, with
// one reader and one writer at a time (others wait their turn).
type TCPConn struct {
	tc           *tcpnode.Conn
	laddr, raddr *net.TCPAddr
	rd, wd       *deadline
	rmu, wmu     sync.Mutex // one reader, one writer at a time
	done         chan struct{}
	closeOnce    sync.Once
}

var _ net.Conn = (*TCPConn)(nil)

func newTCPConn(tc *tcpnode.Conn) *TCPConn {
	return &TCPConn{tc: tc, laddr: net.TCPAddrFromAddrPort(tc.LocalAddr()), raddr: net.TCPAddrFromAddrPort(tc.RemoteAddr()),
		rd: newDeadline(), wd: newDeadline(), done: make(chan struct{})}
}

// DialTCP connects to raddr from laddr (the zero AddrPort picks the
// source address of the route and an ephemeral port). It blocks until the
// handshake completes, fails (syscall.ECONNREFUSED from a RST or an ICMP
// port unreachable, ETIMEDOUT, or the ICMP soft error that came before the
// timeout: EHOSTUNREACH, ENETUNREACH) or ctx ends.
func DialTCP(ctx context.Context, s *stack.Stack, laddr, raddr netip.AddrPort) (*TCPConn, error) {
	opErr := func(err error) error {
		var src net.Addr
		if laddr.IsValid() {
			src = net.TCPAddrFromAddrPort(laddr)
		}
		return &net.OpError{Op: "dial", Net: "tcp", Source: src, Addr: net.TCPAddrFromAddrPort(raddr), Err: err}
	}
	t := tcpnode.Of(s)
	if t == nil {
		return nil, opErr(tcpnode.ErrNoTCP)
	}
	tc, err := t.Dial(laddr, raddr)
	if err != nil {
		return nil, opErr(mapTCPErr("connect", err))
	}
	for tc.State() == tcp.StateSynSent {
		select {
		case <-tc.WriteReady():
		case <-ctx.Done():
			tc.Abort()
			err := ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) {
				err = os.ErrDeadlineExceeded
			}
			return nil, opErr(err)
		}
	}
	if tc.State() == tcp.StateClosed {
		err := tc.Err()
		if err == nil {
			err = tcp.ErrRefused
		}
		return nil, opErr(mapTCPErr("connect", err))
	}
	return newTCPConn(tc), nil
}

// Dialer returns a function for http.Transport.DialContext (and the like)
// that dials TCP through s: network "tcp", "tcp4" or "tcp6", addr an IP
// literal and port ("10.0.0.1:80", "[2001:db8::1]:80"; names are not
// resolved) of the network's family.
func Dialer(s *stack.Stack) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ap, err := parseAddr("tcp", network, addr, false)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		return DialTCP(ctx, s, netip.AddrPort{}, ap)
	}
}

// mapTCPErr turns the engine's errors into the ones package net reports
// for the system call call ("read", "write", "connect" ...).
func mapTCPErr(call string, err error) error {
	var errno syscall.Errno
	switch err {
	case tcp.ErrRefused:
		errno = syscall.ECONNREFUSED
	case tcp.ErrReset:
		errno = syscall.ECONNRESET
	case tcp.ErrTimeout:
		errno = syscall.ETIMEDOUT
	case tcp.ErrAborted:
		errno = syscall.ECONNABORTED
	case tcp.ErrShutdown:
		errno = syscall.EPIPE
	case tcp.ErrNotConnected:
		errno = syscall.ENOTCONN
	case tcp.ErrInUse:
		errno = syscall.EADDRINUSE
	case tcp.ErrNoBuffers:
		errno = syscall.ENOBUFS
	case tcp.ErrProtoUnreachable:
		errno = syscall.ENOPROTOOPT
	case tcp.ErrNetUnreachable:
		errno = syscall.ENETUNREACH
	case tcp.ErrHostUnreachable:
		errno = syscall.EHOSTUNREACH
	case tcp.ErrProhibited:
		errno = syscall.EACCES
	case stack.ErrNoPorts:
		errno = syscall.EADDRNOTAVAIL
	case tcp.ErrClosed:
		return net.ErrClosed
	default:
		return err
	}
	return os.NewSyscallError(call, errno)
}

func (c *TCPConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

func (c *TCPConn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait blocks until ready receives, the deadline d passes or the conn
// closes; it returns the error for the last two.
func (c *TCPConn) wait(d *deadline, ready <-chan struct{}) error {
	dl := d.channel()
	select {
	case <-ready:
		return nil
	case <-dl:
		return os.ErrDeadlineExceeded
	case <-c.done:
		return net.ErrClosed
	}
}

// Read reads received data into b. It returns io.EOF after the peer's FIN
// once all data was read, and *net.OpError wrapping syscall.ECONNRESET
// (or ETIMEDOUT) when the connection failed, os.ErrDeadlineExceeded or
// net.ErrClosed.
func (c *TCPConn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	n, err := c.read(b)
	c.rmu.Unlock()
	return n, err
}

func (c *TCPConn) read(b []byte) (int, error) {
	for {
		if c.isClosed() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		if c.rd.expired() {
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		if len(b) == 0 {
			return 0, nil
		}
		n, err := c.tc.Read(b)
		switch {
		case n > 0:
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err != tcp.ErrWouldBlock:
			return 0, c.opErr("read", mapTCPErr("read", err))
		}
		if err := c.wait(c.rd, c.tc.ReadReady()); err != nil {
			return 0, c.opErr("read", err)
		}
	}
}

// Write sends b, blocking while the send buffer is full. On an error it
// returns how much it queued.
func (c *TCPConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	n, err := c.write(b)
	c.wmu.Unlock()
	return n, err
}

func (c *TCPConn) write(b []byte) (int, error) {
	done := 0
	for {
		if c.isClosed() {
			return done, c.opErr("write", net.ErrClosed)
		}
		if c.wd.expired() {
			return done, c.opErr("write", os.ErrDeadlineExceeded)
		}
		n, err := c.tc.Write(b[done:])
		done += n
		if err == nil {
			return done, nil
		}
		if err != tcp.ErrWouldBlock {
			return done, c.opErr("write", mapTCPErr("write", err))
		}
		if err := c.wait(c.wd, c.tc.WriteReady()); err != nil {
			return done, c.opErr("write", err)
		}
	}
}

// Close closes the connection: a FIN after the queued data (a RST when
// received data was left unread, or with SetLinger(0)). Blocked Reads and
// Writes return net.ErrClosed.
func (c *TCPConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.done)
		c.rd.stop()
		c.wd.stop()
	})
	if !first {
		return c.opErr("close", net.ErrClosed)
	}
	_ = c.tc.Close()
	return nil
}

// CloseWrite shuts down the sending side (a FIN after the queued data);
// reading goes on.
func (c *TCPConn) CloseWrite() error {
	if c.isClosed() {
		return c.opErr("close", net.ErrClosed)
	}
	if err := c.tc.CloseWrite(); err != nil {
		return c.opErr("close", mapTCPErr("shutdown", err))
	}
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on. Unlike package
// net's connections, vecnet's start with Nagle on.
func (c *TCPConn) SetNoDelay(noDelay bool) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.tc.SetNoDelay(noDelay)
	return nil
}

// SetKeepAlive turns keepalive probes on or off.
func (c *TCPConn) SetKeepAlive(on bool) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.tc.SetKeepAlive(on, 0, 0, 0)
	return nil
}

// SetKeepAlivePeriod sets the idle time before probes and the interval
// between them, and turns keepalive on.
func (c *TCPConn) SetKeepAlivePeriod(d time.Duration) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.tc.SetKeepAlive(true, int64(d), int64(d), 0)
	return nil
}

// SetLinger with sec == 0 makes Close reset the connection (RST); any
// other value restores the default graceful close (a positive linger time
// is not waited for: Close never blocks).
func (c *TCPConn) SetLinger(sec int) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.tc.SetLingerZero(sec == 0)
	return nil
}

// LocalAddr returns the local address, a *net.TCPAddr.
func (c *TCPConn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the peer's address, a *net.TCPAddr.
func (c *TCPConn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets the read and write deadlines.
func (c *TCPConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; a blocked Read re-evaluates it.
func (c *TCPConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.rd.set(t)
	c.tc.Wake()
	return nil
}

// SetWriteDeadline sets the write deadline; a blocked Write re-evaluates it.
func (c *TCPConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.wd.set(t)
	c.tc.Wake()
	return nil
}
