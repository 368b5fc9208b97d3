package tcpnode

import (
	"errors"
	"net/netip"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
)

// Handler is a run-to-completion TCP server in the graph (TCP.Handle):
// its callbacks run on the worker that owns the connection, inside
// tcp4-input's vector (or the worker's timer tick), with the engine's lock
// held. They must not block and must not call the goroutine API (Conn,
// Listener, package sock) of the same stack. With several workers,
// callbacks for different connections run concurrently: keep per-connection
// state in GraphConn.SetUser.
type Handler interface {
	// OnAccept is called once a connection is established.
	OnAccept(c *GraphConn)
	// OnData offers the connection's received bytes (all that are there,
	// in place in the receive buffer, valid during the call only) and
	// returns how many it used; the rest is offered again with the next
	// data (or after OnWritable). An empty data means the peer ended its
	// stream (offered once, after the data; bytes left unused then stay
	// unused); the usual answer is c.Close.
	OnData(c *GraphConn, data []byte) int
	// OnWritable is called when send buffer space freed after a Write
	// that fell short.
	OnWritable(c *GraphConn)
	// OnClose is called once when the connection left the engine or
	// entered TIME-WAIT (err is nil for an orderly close). c must not be
	// used after it.
	OnClose(c *GraphConn, err error)
}

// GraphConn is a connection of an in-graph Handler. Its methods may be
// called only from the handler's callbacks (on the connection's worker).
type GraphConn struct {
	c       *tcp.Conn
	h       Handler
	user    any
	ev      tcp.Event // events not yet dispatched
	queued  bool      // in the worker's ready list
	short   bool      // a Write fell short: OnWritable is due
	ended   bool      // OnData was told the end of the stream
	closing bool      // Close was called: the dispatcher closes after OnData
	closed  bool      // OnClose was called
}

// graphListener is Handle's listener on one worker.
type graphListener struct {
	h Handler
}

// Handle serves TCP port addr.Port() on addr (an address of the host or
// the unspecified address) on every worker with the in-graph handler h.
// A port already listened on gives tcp.ErrInUse.
func (t *TCP) Handle(addr netip.AddrPort, h Handler) error {
	if h == nil || addr.Port() == 0 {
		return errors.New("tcpnode: Handle needs a port and a handler")
	}
	a := addr.Addr().Unmap().WithZone("")
	if !a.IsValid() {
		return stack.ErrBadAddress
	}
	addr = netip.AddrPortFrom(a, addr.Port())
	var done []*tcp.Listener
	for _, tw := range t.workers {
		tw.mu.Lock()
		l, err := tw.eng.Listen(addr, 1024)
		if err == nil {
			if tw.graphListeners == nil {
				tw.graphListeners = map[*tcp.Listener]*graphListener{}
			}
			tw.graphListeners[l] = &graphListener{h: h}
		}
		tw.mu.Unlock()
		if err != nil {
			for k, l := range done { // undo the workers before w
				tw := t.workers[k]
				tw.mu.Lock()
				delete(tw.graphListeners, l)
				l.Close()
				tw.mu.Unlock()
			}
			return err
		}
		done = append(done, l)
	}
	return nil
}

// SetUser attaches the application's per-connection state.
func (gc *GraphConn) SetUser(v any) { gc.user = v }

// User returns what SetUser attached.
func (gc *GraphConn) User() any { return gc.user }

// LocalAddr returns the connection's local address and port.
func (gc *GraphConn) LocalAddr() netip.AddrPort { return gc.c.LocalAddr() }

// RemoteAddr returns the peer's address and port.
func (gc *GraphConn) RemoteAddr() netip.AddrPort { return gc.c.RemoteAddr() }

// Write queues as much of p as the send buffer takes and sends what the
// windows allow, on the worker, at once. When it falls short
// (tcp.ErrWouldBlock), OnWritable follows when space frees.
func (gc *GraphConn) Write(p []byte) (int, error) {
	n, err := gc.c.Write(p)
	if err == tcp.ErrWouldBlock {
		gc.short = true
	}
	return n, err
}

// Writable returns the free space in the send buffer.
func (gc *GraphConn) Writable() int { return gc.c.Writable() }

// CloseWrite sends a FIN after the queued data; reading goes on.
func (gc *GraphConn) CloseWrite() error { return gc.c.CloseWrite() }

// Close closes the connection once the running callback returns (after
// the bytes OnData used are consumed): a FIN after the queued data, or a
// RST when received data is left unused.
func (gc *GraphConn) Close() { gc.closing = true }

// Abort resets the connection now (RST); OnClose follows.
func (gc *GraphConn) Abort() { gc.c.Abort() }

// graphNotify queues gc's events for dispatch. Caller holds tw.mu.
func (tw *tcpWorker) graphNotify(gc *GraphConn, ev tcp.Event) {
	gc.ev |= ev
	if !gc.queued {
		gc.queued = true
		tw.ready = append(tw.ready, gc)
	}
}

// graphAccept accepts l's connections for its handler. It runs inside the
// engine's event dispatch (Notify), so it calls nothing that re-enters the
// engine; dispatch does the rest. Caller holds tw.mu.
func (tw *tcpWorker) graphAccept(l *tcp.Listener, gl *graphListener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		gc := &GraphConn{c: c, h: gl.h}
		c.SetContext(gc)
		c.SetHoldACKs(true) // dispatch answers, then FlushACKs
		tw.ready = append(tw.ready, gc)
		gc.queued = true
		gc.ev = tcp.EventConnected | tcp.EventReadable // data may have come with the handshake's ACK
	}
}

// runApps runs the in-graph handlers for the events of the engine pass
// that just ended, their calls deferred (tcp.Engine.DeferCalls), then
// sends their replies with the ACKs held for them in one batch
// (FlushACKs). Events that batch raises are dispatched too. Caller holds
// tw.mu, on the worker, with tw.node set to n.
func (tw *tcpWorker) runApps(n *graph.Node) {
	tw.eng.DeferCalls()
	tw.dispatch(n)
	tw.eng.FlushACKs()
	for k := 0; k < 4 && len(tw.ready) > 0; k++ {
		tw.eng.DeferCalls()
		tw.dispatch(n)
		tw.eng.FlushACKs()
	}
}

// dispatch runs the handlers for the connections with events, until none
// is left (a callback's calls may queue more). A handler that panics has
// its connection reset (RST, no OnClose) and counted as tcp4-input's
// handler_panic; the others go on. Caller holds tw.mu, on the worker, with
// tw.node set to n.
func (tw *tcpWorker) dispatch(n *graph.Node) {
	for k := 0; k < len(tw.ready); {
		k = tw.dispatchFrom(n, k)
	}
	clear(tw.ready)
	tw.ready = tw.ready[:0]
}

// dispatchFrom dispatches tw.ready from position from on and returns
// len(tw.ready), or the position after a connection whose handler
// panicked. The recover is once per call, so once per vector, not per
// connection.
func (tw *tcpWorker) dispatchFrom(n *graph.Node, from int) (next int) {
	next = from
	defer func() {
		if recover() != nil {
			gc := tw.ready[next]
			if !gc.closed {
				gc.closed = true
				gc.c.SetContext(nil)
				gc.c.Abort()
			}
			n.Count(ErrHandlerPanic, 1)
			next++
		}
	}()
	for ; next < len(tw.ready); next++ {
		tw.dispatchOne(tw.ready[next])
	}
	return next
}

// dispatchOne runs gc's callbacks for its pending events.
func (tw *tcpWorker) dispatchOne(gc *GraphConn) {
	ev := gc.ev
	gc.ev, gc.queued = 0, false
	if gc.closed {
		return
	}
	c := gc.c
	if ev&tcp.EventConnected != 0 {
		c.SetNoDelay(true) // a reply goes out whole at once: no Nagle wait for its last segment
		gc.h.OnAccept(gc)
	}
	if gc.short && ev&tcp.EventWritable != 0 && c.Writable() > 0 && c.State() != tcp.StateClosed {
		gc.short = false
		gc.h.OnWritable(gc)
	}
	if ev&(tcp.EventReadable|tcp.EventWritable|tcp.EventConnected) != 0 && !gc.closing && c.State() != tcp.StateClosed {
		if v := c.ReceiveView(); len(v) > 0 {
			if n := gc.h.OnData(gc, v); c.State() != tcp.StateClosed {
				c.Consume(n)
			}
		}
		if !gc.ended && !gc.closing && c.State() != tcp.StateClosed && c.ReceiveClosed() {
			gc.ended = true
			gc.h.OnData(gc, nil)
		}
	}
	if gc.closing && c.State() != tcp.StateClosed {
		c.Close()
	}
	// TIME-WAIT is the engine's alone: the handler is done with a
	// connection once both sides closed, not 2*MSL later (with a new
	// connection per request, the handlers' state of a minute of
	// connections would otherwise stay live).
	if st := c.State(); st == tcp.StateClosed || st == tcp.StateTimeWait {
		gc.closed = true
		gc.h.OnClose(gc, c.Err())
		c.SetContext(nil)
	}
}
