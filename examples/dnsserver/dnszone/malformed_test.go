package dnszone

import (
	"math/rand/v2"
	"testing"

	"github.com/miekg/dns"
)

// rawQuery builds a query header with the given flags and counts followed
// by body.
func rawQuery(flags, qd, an, ns, ar uint16, body ...byte) []byte {
	b := []byte{0x12, 0x34, byte(flags >> 8), byte(flags), 0, byte(qd), 0, byte(an), 0, byte(ns), 0, byte(ar)}
	return append(b, body...)
}

// wwwQ is the question www.example.test. A IN.
var wwwQ = []byte("\x03www\x07example\x04test\x00\x00\x01\x00\x01")

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func longName(labels, size int) []byte {
	var b []byte
	for range labels {
		b = append(b, byte(size))
		for range size {
			b = append(b, 'a')
		}
	}
	return b
}

// optRR is an OPT record advertising 1232 bytes.
var optRR = []byte{0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0}

func TestMalformed(t *testing.T) {
	z := loadZone(t)
	tests := []struct {
		name  string
		q     []byte
		stat  string
		rcode int // -1: no reply
	}{
		{"empty", nil, "dropped_short", -1},
		{"11 bytes", rawQuery(0x0100, 1, 0, 0, 0)[:11], "dropped_short", -1},
		{"QR set", rawQuery(0x8100, 1, 0, 0, 0, wwwQ...), "dropped_response", -1},
		{"opcode STATUS", rawQuery(2<<11, 1, 0, 0, 0, wwwQ...), "notimp", dns.RcodeNotImplemented},
		{"opcode NOTIFY", rawQuery(4<<11, 1, 0, 0, 0, wwwQ...), "notimp", dns.RcodeNotImplemented},
		{"header only", rawQuery(0x0100, 1, 0, 0, 0), "formerr", dns.RcodeFormatError},
		{"QDCOUNT 0", rawQuery(0x0100, 0, 0, 0, 0, wwwQ...), "formerr", dns.RcodeFormatError},
		{"QDCOUNT 2", rawQuery(0x0100, 2, 0, 0, 0, cat(wwwQ, wwwQ)...), "formerr", dns.RcodeFormatError},
		{"ANCOUNT 1", rawQuery(0x0100, 1, 1, 0, 0, wwwQ...), "formerr", dns.RcodeFormatError},
		{"NSCOUNT 1", rawQuery(0x0100, 1, 0, 1, 0, wwwQ...), "formerr", dns.RcodeFormatError},
		{"ARCOUNT 2", rawQuery(0x0100, 1, 0, 0, 2, cat(wwwQ, optRR, optRR)...), "formerr", dns.RcodeFormatError},
		{"truncated name", rawQuery(0x0100, 1, 0, 0, 0, wwwQ[:6]...), "formerr", dns.RcodeFormatError},
		{"no terminal label", rawQuery(0x0100, 1, 0, 0, 0, wwwQ[:17]...), "formerr", dns.RcodeFormatError},
		{"truncated type", rawQuery(0x0100, 1, 0, 0, 0, wwwQ[:len(wwwQ)-1]...), "formerr", dns.RcodeFormatError},
		{"compressed name", rawQuery(0x0100, 1, 0, 0, 0, 3, 'w', 'w', 'w', 0xC0, 12, 0, 1, 0, 1), "formerr", dns.RcodeFormatError},
		{"label 64", rawQuery(0x0100, 1, 0, 0, 0, cat(longName(1, 64), []byte{0, 0, 1, 0, 1})...), "formerr", dns.RcodeFormatError},
		{"extended label 0x40", rawQuery(0x0100, 1, 0, 0, 0, 0x41, 0, 0, 0, 1, 0, 1), "formerr", dns.RcodeFormatError},
		{"name 256 bytes", rawQuery(0x0100, 1, 0, 0, 0, cat(longName(4, 62), longName(1, 2), []byte{0, 0, 1, 0, 1})...), "formerr", dns.RcodeFormatError},
		{"name 320 bytes", rawQuery(0x0100, 1, 0, 0, 0, cat(longName(5, 63), []byte{0, 0, 1, 0, 1})...), "formerr", dns.RcodeFormatError},
		{"name 255 bytes ok (refused)", rawQuery(0x0100, 1, 0, 0, 0, cat(longName(4, 62), longName(1, 1), []byte{0, 0, 1, 0, 1})...), "refused", dns.RcodeRefused},
		{"trailing byte", rawQuery(0x0100, 1, 0, 0, 0, cat(wwwQ, []byte{0})...), "formerr", dns.RcodeFormatError},
		{"qtype OPT", rawQuery(0x0100, 1, 0, 0, 0, cat(wwwQ[:18], []byte{0, 41, 0, 1})...), "formerr", dns.RcodeFormatError},
		{"additional not OPT", rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, []byte{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4})...), "formerr", dns.RcodeFormatError},
		{"OPT truncated", rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, optRR[:10])...), "formerr", dns.RcodeFormatError},
		{"OPT rdlen past end", rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, optRR[:9], []byte{0, 4})...), "formerr", dns.RcodeFormatError},
		{"OPT owner not root", rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, []byte{1, 'a'}, optRR)...), "formerr", dns.RcodeFormatError},
		{"OPT with option ok", rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, optRR[:9], []byte{0, 4, 0, 10, 0, 0})...), "answers", dns.RcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, st := answerBoth(t, z, tt.q)
			if got := st.Values()[statIndex(t, tt.stat)]; got != 1 {
				t.Errorf("counter %s = %d, want 1 (stats %+v)", tt.stat, got, st)
			}
			if tt.rcode < 0 {
				if len(b) != 0 {
					t.Errorf("reply of %d bytes, want none", len(b))
				}
				return
			}
			var r dns.Msg
			if err := r.Unpack(b); err != nil {
				t.Fatalf("unpack: %v\n%x", err, b)
			}
			if r.Id != 0x1234 || !r.Response || r.Rcode != tt.rcode || r.Opcode != int(tt.q[2]>>3&0xF) {
				t.Errorf("got id %#x QR %v rcode %s opcode %d, want 0x1234 true %s %d",
					r.Id, r.Response, dns.RcodeToString[r.Rcode], r.Opcode, dns.RcodeToString[tt.rcode], tt.q[2]>>3&0xF)
			}
		})
	}
}

// TestRandomMalformed sends 10 000 mutated and random queries: no panic,
// every query counted exactly once, and every reply unpacks with the
// query's ID.
func TestRandomMalformed(t *testing.T) {
	z := loadZone(t)
	rng := rand.New(rand.NewPCG(1, 2))
	seeds := [][]byte{
		rawQuery(0x0100, 1, 0, 0, 0, wwwQ...),
		rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, optRR)...),
		rawQuery(0x0100, 1, 0, 0, 0, []byte("\x04many\x07example\x04test\x00\x00\x01\x00\x01")...),
	}
	const n = 10000
	var st Stats
	out := make([]byte, outCap)
	for i := range n {
		var q []byte
		if i%4 == 0 {
			q = make([]byte, rng.IntN(64))
			for j := range q {
				q[j] = byte(rng.UintN(256))
			}
		} else {
			q = append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
			for range 1 + rng.IntN(4) {
				switch k := rng.IntN(len(q) + 2); {
				case k < len(q):
					q[k] = byte(rng.UintN(256))
				case k == len(q):
					q = q[:rng.IntN(len(q))]
				default:
					q = append(q, byte(rng.UintN(256)))
				}
				if len(q) == 0 {
					break
				}
			}
		}
		m := z.Answer(q, out, &st)
		checkReply(t, q, out[:m])
	}
	if st.Queries != n || st.Outcomes() != n {
		t.Fatalf("queries %d, outcomes %d, want %d: %+v", st.Queries, st.Outcomes(), n, st)
	}
	t.Logf("%+v", st)
}

// checkReply asserts the invariants of any reply: none, or a message
// miekg/dns unpacks, with the query's ID, QR set and at most 512 bytes
// unless the query carried an OPT.
func checkReply(t testing.TB, q, b []byte) {
	if len(b) == 0 {
		return
	}
	var r dns.Msg
	if err := r.Unpack(b); err != nil {
		t.Fatalf("reply does not unpack: %v\nquery %x\nreply %x", err, q, b)
	}
	if len(q) < 12 || r.Id != uint16(q[0])<<8|uint16(q[1]) || !r.Response {
		t.Fatalf("reply id %#x QR %v for query %x", r.Id, r.Response, q)
	}
	if len(b) > 512 && r.IsEdns0() == nil {
		t.Fatalf("reply of %d bytes without EDNS", len(b))
	}
}
