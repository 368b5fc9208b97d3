package acl

import (
	"math/rand/v2"
	"testing"
	"time"
)

func tcpKey(src, dst string, sport, dport uint16, flags uint8) Key {
	k := key(src, dst, ProtoTCP, sport, dport)
	k.TCPFlags = flags
	return k
}

func reverse(k Key) Key {
	k.Src, k.Dst, k.SrcPort, k.DstPort = k.Dst, k.Src, k.DstPort, k.SrcPort
	return k
}

const (
	fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
)

// TestSessionTCPLifecycle walks a TCP session through its states and
// checks the timeout each state gets.
func TestSessionTCPLifecycle(t *testing.T) {
	cfg := SessionConfig{TCPTransitory: 30 * time.Second, TCPEstablished: time.Hour, TCPClosed: 2 * time.Second}
	s := NewSessions(cfg)
	out := tcpKey("10.0.0.2", "192.168.1.9", 40000, 80, syn)
	if s.Track(&out, 0) {
		t.Fatal("a flow with no session was tracked")
	}
	if r := s.Open(&out, 0); r != Opened || s.Len() != 1 {
		t.Fatalf("Open = %d, len %d", r, s.Len())
	}
	state := func() (string, time.Duration) {
		ss := s.Snapshot(0)
		if len(ss) != 1 {
			t.Fatalf("%d sessions", len(ss))
		}
		if ss[0].Initiator.String() != "10.0.0.2:40000" || ss[0].Responder.String() != "192.168.1.9:80" {
			t.Fatalf("session %+v", ss[0])
		}
		return ss[0].State, ss[0].ExpiresIn
	}
	if st, exp := state(); st != "tcp-syn" || exp != 30*time.Second {
		t.Fatalf("after SYN: %s %v", st, exp)
	}
	back := reverse(out)
	back.TCPFlags = syn | ack
	if !s.Track(&back, 0) {
		t.Fatal("the SYN-ACK did not find the session")
	}
	if st, exp := state(); st != "tcp-established" || exp != time.Hour {
		t.Fatalf("after SYN-ACK: %s %v", st, exp)
	}
	out.TCPFlags = fin | ack
	s.Track(&out, 0)
	if st, exp := state(); st != "tcp-fin" || exp != 30*time.Second {
		t.Fatalf("after FIN: %s %v", st, exp)
	}
	back.TCPFlags = rst
	s.Track(&back, 0)
	if st, exp := state(); st != "tcp-closed" || exp != 2*time.Second {
		t.Fatalf("after RST: %s %v", st, exp)
	}
	if s.Track(&out, int64(3*time.Second)) || s.Len() != 0 {
		t.Fatalf("an expired session was tracked (len %d)", s.Len())
	}
}

// TestSessionSYNFromResponderDoesNotEstablish: only the responder's
// SYN-ACK establishes; a SYN from the initiator again does not.
func TestSessionSYNFromResponderDoesNotEstablish(t *testing.T) {
	s := NewSessions(SessionConfig{})
	out := tcpKey("10.0.0.2", "192.168.1.9", 40000, 80, syn)
	s.Open(&out, 0)
	out.TCPFlags = syn | ack // from the initiator: not an answer
	s.Track(&out, 0)
	if st := s.Snapshot(0)[0].State; st != "tcp-syn" {
		t.Fatalf("state %s", st)
	}
}

func TestSessionTableFullRefusesAndExpiryFrees(t *testing.T) {
	s := NewSessions(SessionConfig{Max: 16, UDP: time.Second})
	for i := range 16 {
		k := key("10.0.0.2", "192.168.1.9", ProtoUDP, uint16(1000+i), 53)
		if r := s.Open(&k, 0); r != Opened {
			t.Fatalf("session %d: %d", i, r)
		}
	}
	k := key("10.0.0.2", "192.168.1.9", ProtoUDP, 999, 53)
	if r := s.Open(&k, 0); r != TableFull {
		t.Fatalf("17th session: %d, want TableFull", r)
	}
	// Every live session still answers: none was evicted.
	for i := range 16 {
		k := key("192.168.1.9", "10.0.0.2", ProtoUDP, 53, uint16(1000+i))
		if !s.Track(&k, 1) {
			t.Fatalf("session %d lost", i)
		}
	}
	// After the timeout, a new flow reclaims an expired slot.
	if r := s.Open(&k, int64(2*time.Second)); r != Opened || s.Len() != 1 {
		t.Fatalf("after expiry: %d, len %d", r, s.Len())
	}
}

func TestSessionNoSession(t *testing.T) {
	s := NewSessions(SessionConfig{})
	frag := key("10.0.0.2", "192.168.1.9", ProtoUDP, 0, 0)
	frag.Fragment = true
	unreach := key("10.0.0.2", "192.168.1.9", ProtoICMP, 3, 1)
	for _, k := range []Key{frag, unreach} {
		if r := s.Open(&k, 0); r != NoSession {
			t.Errorf("%+v: %d", k, r)
		}
	}
	echo := key("10.0.0.2", "192.168.1.9", ProtoICMP, 8, 0)
	echo.ICMPID = 77
	reply := key("192.168.1.9", "10.0.0.2", ProtoICMP, 0, 0)
	reply.ICMPID = 77
	if s.Open(&echo, 0) != Opened || !s.Track(&reply, 0) {
		t.Fatal("echo reply not matched to its request")
	}
	reply.ICMPID = 78
	if s.Track(&reply, 0) {
		t.Fatal("a reply with another identifier matched")
	}
}

// TestSessionTableAgainstMap opens, tracks and expires random flows and
// compares the table with a map (backward-shift deletion must never lose
// a live entry).
func TestSessionTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := NewSessions(SessionConfig{Max: 512, UDP: time.Second})
	ref := map[uint16]int64{} // source port -> expiry
	now := int64(0)
	for step := range 40000 {
		now += int64(rng.IntN(5_000_000)) // up to 5 ms
		port := uint16(rng.IntN(1500))
		k := key("10.0.0.2", "192.168.1.9", ProtoUDP, port, 53)
		exp, live := ref[port]
		live = live && exp > now
		if got := s.Track(&k, now); got != live {
			t.Fatalf("step %d port %d: Track %v, reference %v", step, port, got, live)
		}
		if live {
			ref[port] = now + int64(time.Second)
		} else {
			delete(ref, port)
			n := 0
			for _, e := range ref {
				if e > now {
					n++
				}
			}
			r := s.Open(&k, now)
			if r == Opened {
				ref[port] = now + int64(time.Second)
			} else if r != TableFull || n < 512 {
				t.Fatalf("step %d: Open %d with %d live", step, r, n)
			}
		}
		if step%97 == 0 {
			s.Sweep(now, 64)
		}
	}
}

func TestSessionsAllocateNothing(t *testing.T) {
	s := NewSessions(SessionConfig{Max: 1024})
	k := tcpKey("10.0.0.2", "192.168.1.9", 40000, 80, syn)
	now := int64(0)
	if a := testing.AllocsPerRun(1000, func() {
		now++
		k.SrcPort++
		s.Open(&k, now)
		s.Track(&k, now)
		s.Sweep(now, 8)
	}); a != 0 {
		t.Fatalf("%v allocations per open+track+sweep", a)
	}
}

// TestOpenTwiceIsExisting: a second Open of a flow whose session an
// earlier packet opened reports Existing, so session_opened counts
// sessions, not packets.
func TestOpenTwiceIsExisting(t *testing.T) {
	s := NewSessions(SessionConfig{Max: 16})
	k := tcpKey("10.0.0.2", "192.168.1.9", 40000, 80, syn)
	if r := s.Open(&k, 0); r != Opened {
		t.Fatalf("first Open: %d", r)
	}
	if r := s.Open(&k, 1); r != Existing || s.Len() != 1 {
		t.Fatalf("second Open: %d, %d sessions", r, s.Len())
	}
}
