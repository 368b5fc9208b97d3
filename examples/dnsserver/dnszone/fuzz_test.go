package dnszone

import (
	"bytes"
	"testing"

	"github.com/miekg/dns"
)

// FuzzAnswer feeds any bytes as a query. Invariants: no panic; the reply
// is empty or unpacks with miekg/dns and carries the query's ID; answering
// in place gives the same bytes; every call is counted once; a query that
// miekg/dns unpacks as a valid single question is answered with that exact
// question.
func FuzzAnswer(f *testing.F) {
	z := loadZone(f)
	for _, m := range []*dns.Msg{ // well-formed seeds
		query("www.example.test.", dns.TypeA),
		query("WWW.example.TEST.", dns.TypeAAAA, edns(1232, true)),
		query("alias2.example.test.", dns.TypeA),
		query("example.test.", dns.TypeNS),
		query("many.example.test.", dns.TypeA),
		query("nothere.example.test.", dns.TypeMX, edns(4096, false)),
		query("www.example.net.", dns.TypeA),
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(rawQuery(0x0100, 1, 0, 0, 0, 3, 'w', 'w', 'w', 0xC0, 12, 0, 1, 0, 1)) // compression
	f.Add(rawQuery(0x0100, 1, 0, 0, 1, cat(wwwQ, optRR[:9], []byte{0, 4, 0, 10, 0, 0})...))
	f.Add([]byte{1, 2, 3})
	out := make([]byte, outCap)
	in := make([]byte, outCap)
	f.Fuzz(func(t *testing.T, q []byte) {
		var st, st2 Stats
		n := z.Answer(q, out, &st)
		checkReply(t, q, out[:n])
		if st.Queries != 1 || st.Outcomes() != 1 {
			t.Fatalf("stats %+v", st)
		}
		if len(q) <= len(in) {
			copy(in, q)
			n2 := z.Answer(in[:len(q)], in, &st2)
			if n2 != n || !bytes.Equal(in[:n2], out[:n]) || st2 != st {
				t.Fatalf("in place: %x\nseparate: %x", in[:n2], out[:n])
			}
		}
		var m dns.Msg
		if n > 12 && m.Unpack(q) == nil && len(m.Question) == 1 && !m.Response && m.Opcode == 0 {
			var r dns.Msg
			if err := r.Unpack(out[:n]); err == nil && r.Rcode != dns.RcodeFormatError && r.Question[0] != m.Question[0] {
				t.Fatalf("question %v echoed as %v", m.Question[0], r.Question[0])
			}
		}
	})
}
