package acl

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// TestSessionTCPStateTimeouts: each TCP state lives exactly its own
// timeout after the packet that entered it (alive 1 ns before, gone at it).
func TestSessionTCPStateTimeouts(t *testing.T) {
	cfg := SessionConfig{TCPTransitory: 30 * time.Second, TCPEstablished: time.Hour, TCPClosed: 2 * time.Second}
	for _, tc := range []struct {
		name  string
		steps []uint8 // flags: initiator's SYN first, then alternate responder, initiator
		state string
		life  time.Duration
	}{
		{"syn", []uint8{syn}, "tcp-syn", 30 * time.Second},
		{"established", []uint8{syn, syn | ack, ack}, "tcp-established", time.Hour},
		{"fin", []uint8{syn, syn | ack, fin | ack}, "tcp-fin", 30 * time.Second},
		{"rst", []uint8{syn, rst}, "tcp-closed", 2 * time.Second},
		{"rst after established", []uint8{syn, syn | ack, ack, rst}, "tcp-closed", 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSessions(cfg)
			out := tcpKey("10.0.0.2", "192.168.1.9", 40000, 80, syn)
			s.Open(&out, 0)
			for i, f := range tc.steps[1:] {
				k := out
				if i%2 == 0 {
					k = reverse(out)
				}
				k.TCPFlags = f
				if !s.Track(&k, 0) {
					t.Fatalf("step %d lost the session", i+1)
				}
			}
			if ss := s.Snapshot(0); len(ss) != 1 || ss[0].State != tc.state || ss[0].ExpiresIn != tc.life {
				t.Fatalf("sessions %+v, want %s for %v", ss, tc.state, tc.life)
			}
			probe := out
			probe.TCPFlags = ack
			if q := reverse(out); !s.Related(&q, int64(tc.life)-1) || s.Related(&q, int64(tc.life)) {
				t.Fatalf("alive just before %v, gone at it: not so", tc.life)
			}
			if s.Track(&probe, int64(tc.life)) || s.Len() != 0 {
				t.Fatalf("session tracked at its expiry")
			}
		})
	}
}

// icmpErr is an ICMP error of type typ from src to dst received on port,
// quoting quoted (an IPv4 datagram).
func icmpErr(port uint16, src, dst [4]byte, typ uint8, quoted []byte) graphtest.Packet {
	d := frames.IPv4(frames.Spec{Src: src, Dst: dst, Proto: wire.IPProtoICMP, Payload: len(quoted)})
	icmp := d[wire.EthernetLen+wire.IPv4MinLen:]
	clear(icmp[:8])
	icmp[0], icmp[1] = typ, 3
	copy(icmp[8:], quoted)
	binary.BigEndian.PutUint16(icmp[2:], wire.Checksum(icmp, 0))
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: port, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen, Len: uint16(len(d))}}
}

// TestNodeICMPErrorRelated: behind a default-deny ACL, an ICMP error
// quoting a session's datagram, sent to that datagram's source, is
// admitted (session_related) without touching the session; an error
// quoting no session, one sent to another host, and one with a cut quote
// are dropped as icmp_error_unrelated.
func TestNodeICMPErrorRelated(t *testing.T) {
	out, err := Compile([]Rule{{Action: PermitReflect}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	var tab Table
	tab.Set([]*ACL{New("out", out, Deny), New("in", in, Deny)})
	h := harness(t, NodeConfig{Table: &tab, Stateful: true, Sessions: SessionConfig{UDP: 10 * time.Second}})
	host, server, hop := [4]byte{10, 0, 0, 2}, [4]byte{10, 9, 1, 1}, [4]byte{10, 8, 0, 1}
	query := frame(0, server, wire.IPProtoUDP, 53) // 10.0.0.2:5000 → server:53
	sent := append([]byte(nil), query.Data[wire.EthernetLen:]...)
	if r := h.Run(query); r.Out[0].Where() != ip4.LookupName {
		t.Fatalf("query: %s", r.Out[0].Where())
	}
	other := append([]byte(nil), sent...)
	other[wire.IPv4MinLen+1]++ // another source port: no session
	r := h.Run(
		icmpErr(1, server, host, wire.ICMPv4DestUnreachable, sent),                 // port unreachable from the server
		icmpErr(1, hop, host, wire.ICMPv4TimeExceeded, sent[:28]),                  // time exceeded from a hop, 8 bytes quoted
		icmpErr(1, server, host, wire.ICMPv4DestUnreachable, other),                // about no session
		icmpErr(1, server, [4]byte{10, 0, 0, 3}, wire.ICMPv4DestUnreachable, sent), // to a host that did not send it
		icmpErr(1, server, host, wire.ICMPv4DestUnreachable, sent[:24]),            // quote cut short
	)
	want := []string{ip4.LookupName, ip4.LookupName, "drop ip4-acl-in: icmp_error_unrelated", "drop ip4-acl-in: icmp_error_unrelated",
		"drop ip4-acl-in: icmp_error_unrelated"}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("error %d: %s, want %s", i, got, w)
		}
	}
	if r.Counters["ip4-acl-in: session_related"] != 2 {
		t.Errorf("counters %v", r.Counters)
	}
	if ss := NodeSessions(h.Graph()); len(ss) != 1 || ss[0].Packets != 1 {
		t.Errorf("sessions %+v: the errors must not count on the session", ss)
	}
	errs := make([]graphtest.Packet, 64)
	for k := range errs {
		errs[k] = icmpErr(1, server, host, wire.ICMPv4DestUnreachable, [][]byte{sent, other}[k&1])
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(NodeName, errs...) }); n != 0 {
		t.Errorf("%v allocations per vector of ICMP errors", n)
	}
}

// FuzzReadQuote: any bytes after an ICMP error's header are read as a
// quote without a panic, and a quote read is one the bytes hold.
func FuzzReadQuote(f *testing.F) {
	q := frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 0, 2}, Dst: [4]byte{10, 9, 1, 1}, Payload: 8})[wire.EthernetLen:]
	f.Add(q)
	f.Add(q[:28])
	f.Add(q[:27])
	f.Add(frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 0, 2}, Dst: [4]byte{10, 9, 1, 1}, Proto: wire.IPProtoICMP})[wire.EthernetLen:])
	f.Add([]byte{0x4f, 0, 0, 0})
	f.Fuzz(func(t *testing.T, quoted []byte) {
		ip := make(wire.IPv4, 28+len(quoted))
		ip[0] = 0x45
		copy(ip[28:], quoted)
		var k Key
		if readQuote(&k, ip, 20) {
			if len(quoted) < 28 || k.Src != wire.IPv4(quoted).SrcBits() || k.Proto != quoted[9] {
				t.Fatalf("quote %+v from % x", k, quoted)
			}
		}
	})
}
