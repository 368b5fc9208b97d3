package main

import (
	"os"
	"testing"
	"time"
)

// wrkOutput is wrk 4.1's summary with --latency.
const wrkOutput = `Running 5s test @ http://10.77.1.1/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.00us  120.11us   1.20ms   80.00%
    Req/Sec    40.00k     1.00k   42.00k    70.00%
  Latency Distribution
     50%  413.00us
     75%  500.00us
     90%  700.00us
     99%    1.25ms
  200123 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  40024.60
Transfer/sec:      6.00MB
`

func TestWrkParseAndHTTPSummary(t *testing.T) {
	var s HTTPSample
	if err := parseWrk(wrkOutput, &s); err != nil {
		t.Fatal(err)
	}
	if s.ReqPerSec != 40024.60 || s.Requests != 200123 || s.P50us != 413 || s.P99us != 1250 || s.Errors != 7 {
		t.Fatalf("parsed %+v", s)
	}
	if err := parseWrk("garbage", &s); err == nil {
		t.Fatal("parsed garbage")
	}
	samples := []HTTPSample{
		{Config: "kernel", ReqPerSec: 100}, {Config: "kernel", ReqPerSec: 300}, {Config: "kernel", ReqPerSec: 200},
		{Config: "ingraph", ReqPerSec: 500}, {Config: "ingraph", Err: "boom"},
	}
	sum := SummarizeHTTP(samples, []string{"kernel", "ingraph", "nginx"})
	if sum[0].Median.ReqPerSec != 200 || sum[1].Rounds != 1 || sum[2].Rounds != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if got := HTTPRatioLine(sum); got != "vecnet/kernel: 2.50" {
		t.Errorf("ratio line %q", got)
	}
}

// TestProcSchedstat: the server's own CPU time and switches are read from
// its threads' schedstat, its page faults from its stat; this process burns
// CPU, blocks and touches fresh memory, so all three grow.
func TestProcSchedstat(t *testing.T) {
	pid := os.Getpid()
	run0, sw0, ok := procSchedstat(pid)
	if !ok {
		t.Fatal("cannot read this process's schedstat")
	}
	x := 0
	for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline); x++ {
	}
	for range 10 {
		time.Sleep(time.Millisecond) // blocking, so the thread is switched out and in again
	}
	run1, sw1, ok := procSchedstat(pid)
	if !ok || run1 <= run0 || sw1 <= sw0 || x == 0 {
		t.Fatalf("schedstat: run %d → %d ns, switches %d → %d", run0, run1, sw0, sw1)
	}
	f0, ok0 := procFaults(pid)
	big := make([]byte, 8<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	if f1, ok1 := procFaults(pid); !ok0 || !ok1 || f1 <= f0 {
		t.Fatalf("page faults %d → %d after touching 8 MiB of fresh memory", f0, f1)
	}
	if _, _, ok := procSchedstat(-1); ok {
		t.Fatal("schedstat of pid -1 read")
	}
}
