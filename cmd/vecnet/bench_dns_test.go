package main

import "testing"

func TestKxdpgunParseAndDNSSummary(t *testing.T) {
	out := "using interface eth0, XDP threads 1, UDP, native mode\ntotal queries:     2613250 (1306625 pps)\ntotal replies:     808730 (404365 pps) (30%)\n"
	for _, tc := range []struct {
		label string
		n     uint64
		pps   float64
	}{{"total queries", 2613250, 1306625}, {"total replies", 808730, 404365}} {
		n, pps, ok := kxdpgunTotal(out, tc.label)
		if !ok || n != tc.n || pps != tc.pps {
			t.Errorf("%s: %d %v %v, want %d %v", tc.label, n, pps, ok, tc.n, tc.pps)
		}
	}
	if _, _, ok := kxdpgunTotal("garbage", "total replies"); ok {
		t.Error("parsed garbage")
	}
	samples := []DNSSample{
		{Config: "kernel", AnswersQPS: 100}, {Config: "kernel", AnswersQPS: 300}, {Config: "kernel", AnswersQPS: 200},
		{Config: "ingraph", AnswersQPS: 500}, {Config: "ingraph", Err: "boom"},
	}
	sum := SummarizeDNS(samples, []string{"kernel", "ingraph", "knot"})
	if sum[0].Median.AnswersQPS != 200 || sum[1].Rounds != 1 || len(sum[1].Errors) != 1 || sum[2].Rounds != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if got := DNSRatioLine(sum); got != "ingraph/kernel: 2.50" {
		t.Errorf("ratio line %q", got)
	}
}
