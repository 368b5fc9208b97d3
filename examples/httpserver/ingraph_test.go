package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/wire"
)

var (
	clientAP = netip.MustParseAddrPort("10.0.0.2:40000")
	serverAP = netip.MustParseAddrPort("10.0.0.1:80")
)

// peer drives one client connection to the in-graph responder through
// tcp4-input on a stacktest rig and collects the bytes it answers.
type peer struct {
	t        testing.TB
	r        *stacktest.Rig
	seq, ack uint32
	src      netip.AddrPort // the client's address (clientAP unless set)
}

// segment delivers a segment from the client with flags and payload and
// returns the server's answers' payloads, concatenated, and the last
// answer's flags.
func (p *peer) segment(flags uint8, payload string) (string, uint8) {
	src := p.src
	if !src.IsValid() {
		src = clientAP
	}
	c := p.r.Caches[0]
	i, _ := c.Alloc()
	a := c.Arena()
	tl := wire.TCPMinLen + len(payload)
	d, _ := a.SetData(i, pkt.Headroom, wire.EthernetLen+wire.IPv4MinLen+tl)
	clear(d[:wire.EthernetLen])
	wire.IPv4(d[wire.EthernetLen:]).Encode(&wire.IPv4Fields{TotalLen: uint16(wire.IPv4MinLen + tl), TTL: 64,
		Protocol: wire.IPProtoTCP, Src: src.Addr().As4(), Dst: serverAP.Addr().As4()})
	s := wire.TCP(d[wire.EthernetLen+wire.IPv4MinLen:])
	s.Encode(&wire.TCPFields{SrcPort: src.Port(), DstPort: serverAP.Port(), Seq: p.seq, Ack: p.ack,
		DataOffset: wire.TCPMinLen / 4, Flags: flags, Window: 65535})
	copy(s[wire.TCPMinLen:], payload)
	s.SetChecksum(s.ComputeChecksum(src.Addr().As4(), serverAP.Addr().As4(), uint16(tl)))
	m := a.Meta(i)
	m.L3, m.L4 = wire.EthernetLen, wire.EthernetLen+wire.IPv4MinLen
	p.seq += uint32(len(payload))
	if flags&(wire.TCPFlagSYN|wire.TCPFlagFIN) != 0 {
		p.seq++
	}
	p.r.DeliverTo(0, tcpnode.InputName, i)
	var got strings.Builder
	var last uint8
	for _, o := range p.r.TakeLookup() {
		seg := wire.TCP(o.Data[o.Meta.L4:])
		if seg.Flags()&wire.TCPFlagSYN != 0 {
			p.ack = seg.Seq() + 1
		} else {
			p.ack = seg.Seq() + uint32(len(seg.Payload()))
			if seg.Flags()&wire.TCPFlagFIN != 0 {
				p.ack++
			}
		}
		got.Write(seg.Payload())
		last = seg.Flags()
	}
	return got.String(), last
}

// helloResponse is the answer to GET / on a keep-alive connection.
const helloResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\n\r\nhello from httpserver\n"

func newPeer(t testing.TB) *peer {
	r := stacktest.New(t, 1024, stack.Config{TCP: &tcp.Config{}})
	t.Cleanup(r.Close)
	if err := r.TCP.Handle(serverAP, inGraphApp{}); err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, r: r, seq: 1000}
	if _, f := p.segment(wire.TCPFlagSYN, ""); f != wire.TCPFlagSYN|wire.TCPFlagACK {
		t.Fatalf("SYN answered with flags %#x", f)
	}
	return p
}

// TestInGraphResponder: the in-graph responder's answers to requests
// written by hand: keep-alive, pipelining, a request split over segments,
// GET /bytes/N with its X-Sha256, POST /sha256, errors, and
// Connection: close ending with a FIN.
func TestInGraphResponder(t *testing.T) {
	p := newPeer(t)
	const ack = wire.TCPFlagACK | wire.TCPFlagPSH
	hello := helloResponse
	if got, _ := p.segment(ack, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); got != hello {
		t.Fatalf("GET / (in the handshake's ACK): %q", got)
	}
	if got, _ := p.segment(ack, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET /"); got != hello+hello {
		t.Fatalf("two pipelined GETs and a partial one: %q", got)
	}
	if got, _ := p.segment(ack, " HTTP/1.1\r\nUser-Agent: t\r\n\r\n"); got != hello {
		t.Fatalf("the partial GET completed: %q", got)
	}
	sum := sha256.Sum256(Bytes(1000))
	got, _ := p.segment(ack, "GET /bytes/1000 HTTP/1.1\r\n\r\n")
	head, body, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.Contains(head, "X-Sha256: "+hex.EncodeToString(sum[:])) || !strings.Contains(head, "Content-Length: 1000") ||
		body != string(Bytes(1000)) {
		t.Fatalf("GET /bytes/1000: head %q, %d body bytes", head, len(body))
	}
	got, _ = p.segment(ack, "POST /sha256 HTTP/1.1\r\nContent-Length: 3\r\n\r\nab")
	if got != "" {
		t.Fatalf("answered a POST before its body: %q", got)
	}
	got, _ = p.segment(ack, "c")
	if !strings.HasSuffix(got, "\r\n\r\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n") {
		t.Fatalf("POST /sha256 of abc: %q", got)
	}
	for req, status := range map[string]string{
		"GET /nope HTTP/1.1\r\n\r\n":                  "HTTP/1.1 404 ",
		"GET /bytes/x HTTP/1.1\r\n\r\n":               "HTTP/1.1 400 ",
		"DELETE / HTTP/1.1\r\n\r\n":                   "HTTP/1.1 405 ",
		"POST /sha256 HTTP/1.1\r\n\r\n":               "HTTP/1.1 411 ",
		"garbage\r\n\r\n":                             "HTTP/1.1 400 ",
		"GET / HTTP/2.0\r\n\r\n":                      "HTTP/1.1 505 ",
		"GET / HTTP/1.1\r\nConnection: close\r\n\r\n": "HTTP/1.1 200 ",
	} {
		q := newPeer(t)
		got, _ := q.segment(ack, req)
		if !strings.HasPrefix(got, status) {
			t.Errorf("%q: answered %q, want %s", req, got, status)
		}
	}
	q := newPeer(t)
	if got, f := q.segment(ack, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"); !strings.Contains(got, "Connection: close") ||
		f&wire.TCPFlagFIN == 0 {
		t.Fatalf("Connection: close: %q, last flags %#x (want a FIN)", got, f)
	}
}

// TestInGraphResponderAllocs: a keep-alive GET / and its response through
// tcp4-input and the responder allocate nothing.
func TestInGraphResponderAllocs(t *testing.T) {
	p := newPeer(t)
	const ack = wire.TCPFlagACK | wire.TCPFlagPSH
	req := "GET / HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: wrk\r\n\r\n"
	p.segment(ack, req)
	p.r.Discard = true
	want := p.r.Discarded + 51
	allocs := testing.AllocsPerRun(50, func() {
		p.segment(ack, req)
		p.ack += uint32(len(helloResponse)) // the client acknowledges the response with its next request
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per request", allocs)
	}
	if p.r.Discarded != want {
		t.Fatalf("%d responses to 51 requests", p.r.Discarded-want+51)
	}
}

// BenchmarkInGraphRequest: one keep-alive GET / through tcp4-input, the
// engine and the responder, and its response out (the client's segment
// is built by the benchmark too, as a NIC would deliver it).
func BenchmarkInGraphRequest(b *testing.B) {
	p := newPeer(b)
	const ack = wire.TCPFlagACK | wire.TCPFlagPSH
	req := "GET / HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: wrk\r\n\r\n"
	p.segment(ack, req)
	p.r.Discard = true
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.segment(ack, req)
		p.ack += uint32(len(helloResponse))
	}
}

// BenchmarkInGraphNewConnection: a connection per request, as wrk's
// "Connection: close" mode: SYN, the request with the handshake's ACK,
// the response and the server's FIN, the client's FIN (the server keeps
// the TIME-WAIT). Each iteration uses a new client port.
func BenchmarkInGraphNewConnection(b *testing.B) {
	r := stacktest.New(b, 1024, stack.Config{TCP: &tcp.Config{}})
	b.Cleanup(r.Close)
	if err := tcpnode.Of(r.Stack).Handle(serverAP, inGraphApp{}); err != nil {
		b.Fatal(err)
	}
	req := "GET / HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: wrk\r\nConnection: close\r\n\r\n"
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := &peer{t: b, r: r, seq: 1000, src: netip.AddrPortFrom(clientAP.Addr(), uint16(1024+i%60000))}
		if _, f := p.segment(wire.TCPFlagSYN, ""); f != wire.TCPFlagSYN|wire.TCPFlagACK {
			b.Fatalf("SYN answered with flags %#x", f)
		}
		if got, f := p.segment(wire.TCPFlagACK|wire.TCPFlagPSH, req); len(got) == 0 || f&wire.TCPFlagFIN == 0 {
			b.Fatalf("request answered with %q, flags %#x", got, f)
		}
		p.segment(wire.TCPFlagACK|wire.TCPFlagFIN, "")
	}
}
