package main

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vecnet/vecnet/examples/dnsserver/dnszone"
	"github.com/vecnet/vecnet/internal/testutil"
)

// startKernel runs the server in kernel mode on a random loopback port
// and returns its address and a stop function (also run at cleanup) that
// returns the counters once the server has stopped.
func startKernel(t *testing.T) (string, func() *dnszone.Stats) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	st := new(dnszone.Stats)
	errc := make(chan error, 1)
	cfg := config{zone: "testdata/example.zone", origin: "example.test.", mode: "kernel",
		listen: "127.0.0.1:0", batch: 16, stats: st, ready: func(a net.Addr) { addrc <- a }}
	go func() { errc <- run(ctx, cfg) }()
	stopped := false
	stop := func() *dnszone.Stats {
		if !stopped {
			stopped = true
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("run: %v", err)
			}
		}
		return st
	}
	t.Cleanup(func() { stop() })
	select {
	case a := <-addrc:
		return a.String(), stop
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	return "", nil
}

// kernelCases lists one query per record type with the answers expected
// (lower-case rdata, any order) and the rcode.
var kernelCases = []struct {
	name  string
	qtype uint16
	rcode int
	want  []string // rdata of the answer section
}{
	{"www.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.80"}},
	{"www.example.test.", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8::80"}},
	{"example.test.", dns.TypeNS, dns.RcodeSuccess, []string{"ns1.example.test.", "ns2.example.test."}},
	{"example.test.", dns.TypeSOA, dns.RcodeSuccess, []string{"ns1.example.test. hostmaster.example.test. 2024010101 7200 900 1209600 300"}},
	{"example.test.", dns.TypeMX, dns.RcodeSuccess, []string{"10 mail.example.test.", "20 mail2.example.net."}},
	{"alias.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"www.example.test.", "192.0.2.80"}},
	{"txt.example.test.", dns.TypeTXT, dns.RcodeSuccess, []string{`"first string" "second string" "third \"quoted\" string"`}},
	{"nothere.example.test.", dns.TypeA, dns.RcodeNameError, nil},
	{"www.example.test.", dns.TypeMX, dns.RcodeSuccess, nil},
	{"www.example.net.", dns.TypeA, dns.RcodeRefused, nil},
}

// rdata returns the presentation rdata of rr (after the header fields).
func rdata(rr dns.RR) string {
	return strings.ToLower(strings.TrimPrefix(rr.String(), rr.Header().String()))
}

func TestKernelMode(t *testing.T) {
	addr, stop := startKernel(t)
	for _, proto := range []string{"udp", "udp-edns"} {
		for _, tc := range kernelCases {
			t.Run(proto+"/"+tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion(tc.name, tc.qtype)
				if proto == "udp-edns" {
					m.SetEdns0(1232, true)
				}
				c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
				r, _, err := c.Exchange(m, addr)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != tc.rcode || r.Id != m.Id {
					t.Errorf("rcode %s id %d, want %s %d", dns.RcodeToString[r.Rcode], r.Id, dns.RcodeToString[tc.rcode], m.Id)
				}
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rdata(rr))
				}
				slices.Sort(got)
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("answers (-want +got):\n-%q\n+%q", want, got)
				}
				if (r.IsEdns0() != nil) != (proto == "udp-edns") {
					t.Errorf("OPT present %v", r.IsEdns0() != nil)
				}
			})
		}
	}
	// Truncation: 40 A records do not fit 512 bytes; the client then
	// retries over TCP, which this server does not serve, so just check TC.
	m := new(dns.Msg)
	m.SetQuestion("many.example.test.", dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil || !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("many A without EDNS: err %v; want TC and no answers, got %v", err, r)
	}
	m.SetEdns0(1232, false)
	if r, _, err = c.Exchange(m, addr); err != nil || r.Truncated || len(r.Answer) != 40 {
		t.Errorf("many A with EDNS: err %v; want 40 answers", err)
	}
	st := stop()
	if want := uint64(2*len(kernelCases) + 2); st.Queries != want || st.Outcomes() != want || st.Truncated != 1 || st.Refused != 2 {
		t.Errorf("stats %+v, want %d queries, 1 truncated, 2 refused", *st, want)
	}
}

// TestDig queries the kernel-mode server with dig for every type.
func TestDig(t *testing.T) {
	testutil.RequireTool(t, "dig")
	addr, _ := startKernel(t)
	host, port, _ := net.SplitHostPort(addr)
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	for _, tc := range kernelCases {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			out, err := exec.Command("dig", "@"+host, "-p", port, "+norecurse", "+tries=1", "+time=5",
				tc.name, dns.TypeToString[tc.qtype]).CombinedOutput()
			if err != nil {
				t.Fatalf("dig: %v\n%s", err, out)
			}
			checkDig(t, string(out), "", tc.rcode, tc.want)
		})
	}
}

// checkDig checks dig's output s for the status rcode, the AA flag (unless
// refused) and exactly the answers want.
func checkDig(t *testing.T, s, what string, rcode int, want []string) {
	t.Helper()
	if w := "status: " + dns.RcodeToString[rcode]; !strings.Contains(s, w) {
		t.Errorf("%s: no %q in:\n%s", what, w, s)
	}
	if rcode != dns.RcodeRefused && !strings.Contains(s, "flags: qr aa") {
		t.Errorf("%s: no AA flag in:\n%s", what, s)
	}
	if w := "ANSWER: " + strconv.Itoa(len(want)) + ","; !strings.Contains(s, w) {
		t.Errorf("%s: no %q in:\n%s", what, w, s)
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(s), w) {
			t.Errorf("%s: no %q in:\n%s", what, w, s)
		}
	}
}
