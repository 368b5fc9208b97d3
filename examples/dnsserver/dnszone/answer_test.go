package dnszone

import (
	"bytes"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// outCap is the room the in-graph handler has in a packet buffer.
const outCap = 3584

// answerBoth answers q into a separate buffer and in place, checks both
// agree, and returns the response and the counters.
func answerBoth(t *testing.T, z *Zone, q []byte) ([]byte, Stats) {
	t.Helper()
	var st, st2 Stats
	out := make([]byte, outCap)
	n := z.Answer(q, out, &st)
	inplace := make([]byte, outCap)
	copy(inplace, q)
	n2 := z.Answer(inplace[:len(q)], inplace, &st2)
	if n != n2 || !bytes.Equal(out[:n], inplace[:n2]) {
		t.Fatalf("in-place answer differs:\n  separate %x\n  in place %x", out[:n], inplace[:n2])
	}
	if st != st2 || st.Queries != 1 || st.Outcomes() != 1 {
		t.Fatalf("stats: %+v / %+v, want one query with one outcome", st, st2)
	}
	return out[:n], st
}

func query(name string, qtype uint16, mod ...func(*dns.Msg)) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0xBEEF
	for _, f := range mod {
		f(m)
	}
	return m
}

func edns(size uint16, do bool) func(*dns.Msg) {
	return func(m *dns.Msg) { m.SetEdns0(size, do) }
}

func noRD(m *dns.Msg) { m.RecursionDesired = false }

// statIndex returns the index of a named counter in Stats.Values.
func statIndex(t *testing.T, name string) int {
	for i, s := range StatInfos {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("no counter %q", name)
	return 0
}

func TestAnswer(t *testing.T) {
	z := loadZone(t)
	ref := loadRef(t)
	tests := []struct {
		name  string
		q     *dns.Msg
		rcode int    // 0 = take from the reference resolver
		tc    bool   // want TC and empty sections
		stat  string // counter that must count the query
		nans  int    // want at least this many answers (sanity on the reference)
	}{
		{name: "apex SOA", q: query("example.test.", dns.TypeSOA), stat: "answers", nans: 1},
		{name: "apex NS with glue", q: query("example.test.", dns.TypeNS), stat: "answers", nans: 2},
		{name: "apex MX with glue", q: query("example.test.", dns.TypeMX), stat: "answers", nans: 2},
		{name: "apex A", q: query("example.test.", dns.TypeA), stat: "answers", nans: 1},
		{name: "apex TXT", q: query("example.test.", dns.TypeTXT), stat: "answers", nans: 1},
		{name: "www A", q: query("www.example.test.", dns.TypeA), stat: "answers", nans: 1},
		{name: "www AAAA", q: query("www.example.test.", dns.TypeAAAA), stat: "answers", nans: 1},
		{name: "www MX nodata", q: query("www.example.test.", dns.TypeMX), stat: "nodata"},
		{name: "www SRV nodata (other type)", q: query("www.example.test.", dns.TypeSRV), stat: "nodata"},
		{name: "ns1 AAAA", q: query("ns1.example.test.", dns.TypeAAAA), stat: "answers", nans: 1},
		{name: "mail A no RD", q: query("mail.example.test.", dns.TypeA, noRD), stat: "answers", nans: 1},
		{name: "CNAME chase A", q: query("alias.example.test.", dns.TypeA), stat: "answers", nans: 2},
		{name: "CNAME chase 2 links AAAA", q: query("alias2.example.test.", dns.TypeAAAA), stat: "answers", nans: 3},
		{name: "CNAME query type CNAME", q: query("alias.example.test.", dns.TypeCNAME), stat: "answers", nans: 1},
		{name: "CNAME then nodata", q: query("alias.example.test.", dns.TypeTXT), stat: "answers", nans: 1},
		{name: "CNAME other type", q: query("alias.example.test.", dns.TypeSRV), stat: "answers", nans: 1},
		{name: "CNAME out of zone", q: query("ext.example.test.", dns.TypeA), stat: "answers", nans: 1},
		{name: "CNAME to missing name", q: query("dangling.example.test.", dns.TypeA), stat: "nxdomain", nans: 1},
		{name: "TXT several strings", q: query("txt.example.test.", dns.TypeTXT), stat: "answers", nans: 1},
		{name: "TXT long", q: query("longtxt.example.test.", dns.TypeTXT), stat: "answers", nans: 1},
		{name: "NXDOMAIN", q: query("nothere.example.test.", dns.TypeA), stat: "nxdomain"},
		{name: "NXDOMAIN deep mixed case", q: query("A.Deep.NoThere.Example.TEST.", dns.TypeAAAA), stat: "nxdomain"},
		{name: "NXDOMAIN with EDNS", q: query("nothere.example.test.", dns.TypeA, edns(1232, true)), stat: "nxdomain"},
		{name: "empty non-terminal", q: query("b.c.example.test.", dns.TypeA), stat: "nodata"},
		{name: "empty non-terminal 2", q: query("c.example.test.", dns.TypeTXT), stat: "nodata"},
		{name: "below empty non-terminal", q: query("a.b.c.example.test.", dns.TypeA), stat: "answers", nans: 1},
		{name: "mixed case echo", q: query("WwW.ExAmPlE.tEsT.", dns.TypeA), stat: "answers", nans: 1},
		{name: "mixed case CNAME chase", q: query("ALIAS.example.TEST.", dns.TypeA), stat: "answers", nans: 2},
		{name: "EDNS echo", q: query("www.example.test.", dns.TypeA, edns(4096, false)), stat: "answers", nans: 1},
		{name: "EDNS DO echo", q: query("www.example.test.", dns.TypeA, edns(1232, true)), stat: "answers", nans: 1},
		{name: "EDNS small size is 512", q: query("www.example.test.", dns.TypeA, edns(100, false)), stat: "answers", nans: 1},
		{name: "truncated without EDNS", q: query("many.example.test.", dns.TypeA), tc: true, stat: "truncated"},
		{name: "truncated with EDNS 512", q: query("many.example.test.", dns.TypeA, edns(512, true)), tc: true, stat: "truncated"},
		{name: "big answer with EDNS", q: query("many.example.test.", dns.TypeA, edns(1232, false)), stat: "answers", nans: 40},
		{name: "REFUSED out of zone", q: query("www.example.net.", dns.TypeA), stat: "refused"},
		{name: "REFUSED parent", q: query("test.", dns.TypeSOA), stat: "refused"},
		{name: "REFUSED not label aligned", q: query("xexample.test.", dns.TypeA), stat: "refused"},
		{name: "REFUSED root", q: query(".", dns.TypeNS, edns(1232, false)), stat: "refused"},
		{name: "class CH refused", q: query("www.example.test.", dns.TypeA, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), rcode: dns.RcodeRefused, stat: "refused"},
		{name: "class ANY notimp", q: query("www.example.test.", dns.TypeA, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassANY }), rcode: dns.RcodeNotImplemented, stat: "notimp"},
		{name: "qtype ANY notimp", q: query("www.example.test.", dns.TypeANY), rcode: dns.RcodeNotImplemented, stat: "notimp"},
		{name: "AXFR notimp", q: query("example.test.", dns.TypeAXFR), rcode: dns.RcodeNotImplemented, stat: "notimp"},
		{name: "EDNS version 1 badvers", q: query("www.example.test.", dns.TypeA, edns(1232, false), func(m *dns.Msg) { m.IsEdns0().SetVersion(1) }), rcode: dns.RcodeBadVers, stat: "badvers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := tt.q.Pack()
			if err != nil {
				t.Fatal(err)
			}
			b, st := answerBoth(t, z, wire)
			if got := st.Values()[statIndex(t, tt.stat)]; got != 1 {
				t.Errorf("counter %s = %d, want 1 (stats %+v)", tt.stat, got, st)
			}
			var r dns.Msg
			if err := r.Unpack(b); err != nil {
				t.Fatalf("unpack response: %v\n%x", err, b)
			}
			q := tt.q.Question[0]
			if r.Id != tt.q.Id || !r.Response || r.Opcode != dns.OpcodeQuery || r.RecursionDesired != tt.q.RecursionDesired || r.RecursionAvailable {
				t.Errorf("header: %+v", r.MsgHdr)
			}
			if len(r.Question) != 1 || r.Question[0] != q {
				t.Errorf("question %v, want exactly %v (case preserved)", r.Question, q)
			}
			wantOPT := tt.q.IsEdns0() != nil
			if opt := r.IsEdns0(); (opt != nil) != wantOPT {
				t.Errorf("OPT in response: %v, want %v", opt != nil, wantOPT)
			} else if opt != nil && (opt.UDPSize() != 1232 || opt.Version() != 0 || opt.Do() != tt.q.IsEdns0().Do()) {
				t.Errorf("OPT: size %d version %d do %v", opt.UDPSize(), opt.Version(), opt.Do())
			}
			rcode, ans, auth, extra := ref.answer(q.Name, q.Qtype)
			if tt.rcode != 0 {
				rcode, ans, auth, extra = tt.rcode, nil, nil, nil
			}
			if r.Rcode != rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode])
			}
			if wantAA := rcode == dns.RcodeSuccess || rcode == dns.RcodeNameError; r.Authoritative != wantAA {
				t.Errorf("AA = %v, want %v", r.Authoritative, wantAA)
			}
			if r.Truncated != tt.tc {
				t.Errorf("TC = %v, want %v", r.Truncated, tt.tc)
			}
			if tt.tc {
				ans, auth, extra = nil, nil, nil
			}
			if len(ans) < tt.nans {
				t.Fatalf("reference gives %d answers, test expects >= %d", len(ans), tt.nans)
			}
			for _, sec := range []struct {
				name      string
				got, want []dns.RR
			}{{"answer", r.Answer, ans}, {"authority", r.Ns, auth}, {"additional", r.Extra, extra}} {
				if g, w := rrStrings(sec.got), rrStrings(sec.want); !slices.Equal(g, w) {
					t.Errorf("%s section (-want +got):\n-%q\n+%q", sec.name, w, g)
				}
			}
			if !wantOPT && len(b) > 512 {
				t.Errorf("response of %d bytes without EDNS", len(b))
			}
		})
	}
}

// TestAnswerMinimal checks that a response whose additional section does
// not fit is sent without it and without TC (RFC 2181 9).
func TestAnswerMinimal(t *testing.T) {
	z := loadZone(t)
	q, _ := query("example.test.", dns.TypeNS).Pack()
	var st Stats
	out := make([]byte, outCap)
	full := z.Answer(q, out, &st)
	var r dns.Msg
	if err := r.Unpack(out[:full]); err != nil || len(r.Extra) == 0 {
		t.Fatalf("full NS answer: %v, %d additional", err, len(r.Extra))
	}
	n := z.Answer(q, out[:full-1], &st)
	if err := r.Unpack(out[:n]); err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != 2 || len(r.Extra) != 0 {
		t.Errorf("minimal answer: TC %v, %d answers, %d additional; want no TC, 2, 0", r.Truncated, len(r.Answer), len(r.Extra))
	}
	n = z.Answer(q, out[:len(q)], &st)
	if err := r.Unpack(out[:n]); err != nil || !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("answer in %d bytes: err %v, TC %v, %d answers; want TC and none", len(q), err, r.Truncated, len(r.Answer))
	}
	if n := z.Answer(q, out[:len(q)-1], &st); n != 0 || st.DroppedNoSpace != 1 {
		t.Errorf("answer in %d bytes: n=%d dropped_nospace=%d, want drop", len(q)-1, n, st.DroppedNoSpace)
	}
}
