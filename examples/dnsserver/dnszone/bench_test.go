package dnszone

import (
	"testing"

	"github.com/miekg/dns"
)

var benchQueries = []struct {
	name string
	q    *dns.Msg
}{
	{"A", query("www.example.test.", dns.TypeA)},
	{"A_mixed_case", query("wWw.ExAmple.test.", dns.TypeA)},
	{"NXDOMAIN", query("nothere.example.test.", dns.TypeA)},
	{"A_EDNS", query("www.example.test.", dns.TypeA, edns(1232, true))},
	{"NS_glue_EDNS", query("example.test.", dns.TypeNS, edns(1232, false))},
	{"REFUSED", query("www.example.net.", dns.TypeA)},
}

func TestNoAllocs(t *testing.T) {
	z := loadZone(t)
	buf := make([]byte, outCap)
	for _, bq := range benchQueries {
		q, _ := bq.q.Pack()
		var st Stats
		allocs := testing.AllocsPerRun(100, func() {
			copy(buf, q)
			z.Answer(buf[:len(q)], buf, &st)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per query", bq.name, allocs)
		}
	}
}

// BenchmarkAnswer measures one query answered in place (copy the query
// into the buffer, answer).
func BenchmarkAnswer(b *testing.B) {
	z := loadZone(b)
	buf := make([]byte, outCap)
	for _, bq := range benchQueries {
		q, _ := bq.q.Pack()
		b.Run(bq.name, func(b *testing.B) {
			var st Stats
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, q)
				z.Answer(buf[:len(q)], buf, &st)
			}
		})
	}
}
