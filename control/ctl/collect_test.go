package ctl_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
)

// TestErrorRowsSum: counters of several workers are summed by node and
// reason and sorted.
func TestErrorRowsSum(t *testing.T) {
	rows := ctl.ErrorRows([][]graph.ErrorCount{
		{{Node: "ip4-lookup", Name: "no-route", Count: 2}, {Node: "arp-input", Name: "bad", Count: 1}},
		{{Node: "ip4-lookup", Name: "no-route", Count: 3}},
	})
	if len(rows) != 2 || rows[0].Node != "arp-input" || rows[1].Count != 5 || rows[1].Severity != graph.SevError.String() {
		t.Errorf("got %+v", rows)
	}
}

// TestTraceRowsGroupByPacket: interleaved records come out grouped by
// packet, in order of each packet's first record.
func TestTraceRowsGroupByPacket(t *testing.T) {
	recs := []graph.TraceRecord{{Packet: 1, Node: "a"}, {Packet: 2, Node: "a"}, {Packet: 1, Node: "b"}, {Packet: 2, Node: "b"}}
	rows := ctl.TraceRows(3, recs, func(r *graph.TraceRecord) string { return r.Node + "!" })
	var got []string
	for _, r := range rows {
		got = append(got, string(rune('0'+r.Packet))+r.Node+r.Detail)
	}
	if strings.Join(got, " ") != "1aa! 1bb! 2aa! 2bb!" || rows[0].Worker != 3 {
		t.Errorf("got %v", got)
	}
}

// TestFIBTableMatchesRouteString: "show fib" from rows prints what
// fib.Route.String printed before the control layer.
func TestFIBTableMatchesRouteString(t *testing.T) {
	routes := []fib.Route{
		{Prefix: netip.MustParsePrefix("10.0.0.0/24"), Kind: fib.KindConnected, Paths: []fib.Path{{Port: 0, Adj: 2, AdjKind: fib.AdjGlean}}},
		{Prefix: netip.MustParsePrefix("10.0.0.1/32"), Kind: fib.KindLocal, Paths: []fib.Path{{NextHop: netip.MustParseAddr("10.0.0.1"), Port: 0, Adj: 3, AdjKind: fib.AdjLocal}}},
		{Prefix: netip.MustParsePrefix("192.168.0.0/16"), Kind: fib.KindStatic, Paths: []fib.Path{
			{NextHop: netip.MustParseAddr("10.0.0.2"), Port: 0, Adj: 4, AdjKind: fib.AdjRewrite, MAC: [6]byte{2, 0, 0, 0, 0, 2}},
			{NextHop: netip.MustParseAddr("10.0.1.2"), Port: 1, Adj: 5, AdjKind: fib.AdjIncomplete}}},
	}
	names := func(p uint16) string { return []string{"eth0", "eth1"}[p] }
	var want strings.Builder
	var rows []ctl.FIBRow
	for _, r := range routes {
		want.WriteString(r.String(names) + "\n")
		row := ctl.FIBRow{Prefix: r.Prefix.String(), Kind: r.Kind.String()}
		for _, p := range r.Paths {
			fp := ctl.FIBPath{Interface: names(p.Port), AdjKind: p.AdjKind.String()}
			if p.NextHop.IsValid() {
				fp.NextHop = p.NextHop.String()
			}
			if p.AdjKind == fib.AdjRewrite {
				fp.MAC = "02:00:00:00:00:02"
			}
			row.Paths = append(row.Paths, fp)
		}
		rows = append(rows, row)
	}
	var got strings.Builder
	if err := ctl.WriteFIB(&got, rows); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("got:\n%s\nwant:\n%s", got.String(), want.String())
	}
}
