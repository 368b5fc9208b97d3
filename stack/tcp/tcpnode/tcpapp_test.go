package tcpnode_test

import (
	"bytes"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/wire"
)

// echoApp is an in-graph handler that answers each complete line ("\n")
// with the line upper-cased (and panics on "boom"), and records what
// happened to it.
type echoApp struct {
	accepts, ends, closes int
	closeErr              error
	out                   [256]byte
}

func (e *echoApp) OnAccept(c *tcpnode.GraphConn) { e.accepts++ }

func (e *echoApp) OnData(c *tcpnode.GraphConn, data []byte) int {
	if len(data) == 0 {
		e.ends++
		c.Close()
		return 0
	}
	used := 0
	for {
		k := bytes.IndexByte(data[used:], '\n')
		if k < 0 || k >= len(e.out) {
			return used
		}
		line := data[used : used+k+1]
		if string(line) == "boom\n" {
			panic("application bug")
		}
		for i, b := range line {
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			e.out[i] = b
		}
		c.Write(e.out[:len(line)])
		used += len(line)
	}
}

func (e *echoApp) OnWritable(c *tcpnode.GraphConn) {}

func (e *echoApp) OnClose(c *tcpnode.GraphConn, err error) { e.closes++; e.closeErr = err }

// withPayload returns an edit for tcpDataFrame that puts p in the segment
// (its length must be the frame's) and fixes the checksum.
func withPayload(p []byte) func(d []byte, m *pkt.Meta) {
	return func(d []byte, m *pkt.Meta) {
		s := wire.TCP(d[m.L4:])
		copy(s[wire.TCPMinLen:], p)
		s.SetChecksum(0)
		s.SetChecksum(s.ComputeChecksum(tcpPeer.Addr().As4(), tcpLocal.Addr().As4(), uint16(len(s))))
	}
}

// graphHandshake opens a connection from tcpPeer to the handler on
// tcpLocal, the handshake's ACK carrying first, and returns the server's
// initial sequence number.
func graphHandshake(t *testing.T, r *stacktest.Rig, first []byte) uint32 {
	t.Helper()
	c := r.Caches[0]
	r.DeliverTo(0, tcpnode.InputName, tcpFrame(c, tcpPeer, tcpLocal, wire.TCPFlagSYN, 1000, nil))
	out := r.TakeLookup()
	if len(out) != 1 {
		t.Fatalf("%d answers to the SYN", len(out))
	}
	iss := checkTCPOut(t, out[0], tcpLocal, tcpPeer).Seq()
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagPSH, 1001, iss+1,
		len(first), withPayload(first)))
	return iss
}

// TestHandleTCP runs a connection through an in-graph handler on a
// hand-driven tcp4-input: accept with the request in the handshake's ACK,
// the reply written from OnData going out in the same vector (ACK
// piggybacked), a request split over two segments, the peer's FIN given to
// OnData as the end, the handler's Close sending FIN, and OnClose after
// the last ACK.
func TestHandleTCP(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	app := &echoApp{}
	if err := r.TCP.Handle(tcpLocal, app); err != nil {
		t.Fatal(err)
	}
	if _, err := r.TCP.Listen(tcpLocal, 4); err != tcp.ErrInUse {
		t.Fatalf("ListenTCP on the handler's port: %v", err)
	}
	c := r.Caches[0]
	iss := graphHandshake(t, r, []byte("hello\n"))
	reply := func(want string, ack uint32) wire.TCP {
		t.Helper()
		out := r.TakeLookup()
		if len(out) != 1 {
			t.Fatalf("%d segments sent, want 1 (%q)", len(out), want)
		}
		s := checkTCPOut(t, out[0], tcpLocal, tcpPeer)
		if string(s.Payload()) != want || s.Ack() != ack || s.Flags()&wire.TCPFlagACK == 0 {
			t.Fatalf("sent %q ack %d flags %#x, want %q ack %d", s.Payload(), s.Ack(), s.Flags(), want, ack)
		}
		return s
	}
	reply("HELLO\n", 1007)
	if app.accepts != 1 {
		t.Fatalf("%d accepts", app.accepts)
	}
	// A line in two segments: nothing until the second.
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK, 1007, iss+7, 3, withPayload([]byte("abc"))))
	out := r.TakeLookup()
	for _, o := range out {
		if s := checkTCPOut(t, o, tcpLocal, tcpPeer); len(s.Payload()) != 0 {
			t.Fatalf("answered a partial line with %q", s.Payload())
		}
	}
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK, 1010, iss+7, 4, withPayload([]byte("de\nf"))))
	reply("ABCDE\n", 1014)
	// The peer's FIN: OnData sees the end (after the partial "f", which
	// stays unused), Close resets because data is left unread.
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagFIN, 1014, iss+13, 0, nil))
	out = r.TakeLookup()
	if len(out) == 0 {
		t.Fatal("nothing sent after the peer's FIN")
	}
	last := checkTCPOut(t, out[len(out)-1], tcpLocal, tcpPeer)
	if last.Flags()&wire.TCPFlagRST == 0 || app.closes != 1 || app.closeErr != tcp.ErrAborted {
		t.Fatalf("after FIN with a partial line: flags %#x, %d closes (%v)", last.Flags(), app.closes, app.closeErr)
	}
	if r.TCP.Conns() != 0 {
		t.Fatalf("%d connections left", r.TCP.Conns())
	}
}

// TestHandleTCPOrderlyClose: the peer's FIN after complete requests gives
// OnData the end once; the handler's Close sends FIN; the peer's ACK of it
// ends the connection with OnClose(nil).
func TestHandleTCPOrderlyClose(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	app := &echoApp{}
	if err := r.TCP.Handle(tcpLocal, app); err != nil {
		t.Fatal(err)
	}
	c := r.Caches[0]
	iss := graphHandshake(t, r, []byte("x\n"))
	r.TakeLookup()
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagFIN, 1003, iss+3, 0, nil))
	out := r.TakeLookup()
	if len(out) != 1 {
		t.Fatalf("%d segments after the peer's FIN, want 1 (FIN+ACK)", len(out))
	}
	fin := checkTCPOut(t, out[0], tcpLocal, tcpPeer)
	if fin.Flags() != wire.TCPFlagFIN|wire.TCPFlagACK || fin.Ack() != 1004 || app.ends != 1 || app.closes != 0 {
		t.Fatalf("flags %#x ack %d, %d ends %d closes", fin.Flags(), fin.Ack(), app.ends, app.closes)
	}
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK, 1004, fin.Seq()+1, 0, nil))
	if app.closes != 1 || app.closeErr != nil || app.ends != 1 || r.TCP.Conns() != 0 {
		t.Fatalf("%d closes (%v), %d ends, %d connections", app.closes, app.closeErr, app.ends, r.TCP.Conns())
	}
}

// TestHandleTCPAllocs: a request in, the handler's reply out (written from
// OnData inside the vector), allocates nothing in steady state.
func TestHandleTCPAllocs(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	app := &echoApp{}
	if err := r.TCP.Handle(tcpLocal, app); err != nil {
		t.Fatal(err)
	}
	c := r.Caches[0]
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\n")
	iss := graphHandshake(t, r, req)
	r.TakeLookup()
	seq, ack := uint32(1001+len(req)), iss+1+uint32(len(req))
	r.Discard = true
	edit := withPayload(req)
	run := func() {
		r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagPSH, seq, ack, len(req), edit))
		seq += uint32(len(req))
		ack += uint32(len(req)) // the peer acknowledges each reply with its next request
	}
	run()
	before := r.Discarded
	if allocs := testing.AllocsPerRun(50, run); allocs != 0 {
		t.Fatalf("%.1f allocations per request", allocs)
	}
	if r.Discarded-before < 51 {
		t.Fatalf("%d replies to 51 requests", r.Discarded-before)
	}
}

// TestHandleTCPPanic: a handler that panics has its connection reset and
// counted as handler_panic, without OnClose; the worker goes on and serves
// the next connection.
func TestHandleTCPPanic(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	app := &echoApp{}
	if err := r.TCP.Handle(tcpLocal, app); err != nil {
		t.Fatal(err)
	}
	graphHandshake(t, r, []byte("boom\n"))
	out := r.TakeLookup()
	if len(out) != 1 || checkTCPOut(t, out[0], tcpLocal, tcpPeer).Flags()&wire.TCPFlagRST == 0 {
		t.Fatalf("%d segments after the panic, want a RST", len(out))
	}
	if n := r.Errors(0, tcpnode.InputName, "handler_panic"); n != 1 || app.closes != 0 || r.TCP.Conns() != 0 {
		t.Fatalf("handler_panic %d, %d closes, %d connections", n, app.closes, r.TCP.Conns())
	}
	graphHandshake(t, r, []byte("again\n")) // same 4-tuple: the old connection is gone
	out = r.TakeLookup()
	if len(out) != 1 || string(checkTCPOut(t, out[0], tcpLocal, tcpPeer).Payload()) != "AGAIN\n" {
		t.Fatalf("after the panic: %d segments", len(out))
	}
}

// byeApp answers its first data with "bye\n" and closes at once.
type byeApp struct{ closes int }

func (b *byeApp) OnAccept(c *tcpnode.GraphConn) {}
func (b *byeApp) OnData(c *tcpnode.GraphConn, data []byte) int {
	c.Write([]byte("bye\n"))
	c.Close()
	return len(data)
}
func (b *byeApp) OnWritable(c *tcpnode.GraphConn)         {}
func (b *byeApp) OnClose(c *tcpnode.GraphConn, err error) { b.closes++ }

// TestHandleTCPServerClosesFirst: a handler that writes its reply and
// closes in the same callback sends one segment, the reply with the ACK
// and the FIN (its calls are deferred to the end of the vector), and is
// done with the connection (OnClose) once the peer's FIN put it in
// TIME-WAIT, which the engine keeps on its own.
func TestHandleTCPServerClosesFirst(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	app := &byeApp{}
	if err := r.TCP.Handle(tcpLocal, app); err != nil {
		t.Fatal(err)
	}
	c := r.Caches[0]
	iss := graphHandshake(t, r, []byte("hi\n"))
	out := r.TakeLookup()
	if len(out) != 1 {
		t.Fatalf("%d segments for the reply and the close, want 1", len(out))
	}
	s := checkTCPOut(t, out[0], tcpLocal, tcpPeer)
	if string(s.Payload()) != "bye\n" || s.Flags() != wire.TCPFlagACK|wire.TCPFlagPSH|wire.TCPFlagFIN && s.Flags() != wire.TCPFlagACK|wire.TCPFlagFIN || s.Ack() != 1004 {
		t.Fatalf("sent %q flags %#x ack %d", s.Payload(), s.Flags(), s.Ack())
	}
	// The peer acknowledges all and sends its FIN: TIME-WAIT.
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagFIN, 1004, iss+6, 0, nil))
	if out := r.TakeLookup(); len(out) != 1 || checkTCPOut(t, out[0], tcpLocal, tcpPeer).Ack() != 1005 {
		t.Fatalf("%d answers to the peer's FIN", len(out))
	}
	if app.closes != 1 || r.TCP.Conns() != 1 {
		t.Fatalf("in TIME-WAIT: %d closes, %d connections (want 1, 1)", app.closes, r.TCP.Conns())
	}
}
