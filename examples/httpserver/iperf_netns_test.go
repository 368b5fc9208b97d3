package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/sock"
)

// iperf3 speaks a control protocol beside its data streams, so a plain
// TCP sink cannot stand in for "iperf3 -s". iperfServer is the server
// half of that protocol (esnet/iperf's iperf_server_api.c), enough for
// TCP tests in both directions, on vecnet's net.Listener: the control
// connection sends a cookie; the server asks for the parameters (a
// length-prefixed JSON), asks for the data streams (each opens with the
// cookie), starts the test, and on the client's TEST_END closes the
// streams and exchanges results (length-prefixed JSON each way).

// iperf3 control states (iperf_api.h).
const (
	iperfTestStart       = 1
	iperfTestRunning     = 2
	iperfTestEnd         = 4
	iperfParamExchange   = 9
	iperfCreateStreams   = 10
	iperfExchangeResults = 13
	iperfDisplayResults  = 14
	iperfDone            = 16
	iperfCookieSize      = 37
)

// iperfParams is the part of the client's parameters the server uses.
type iperfParams struct {
	TCP      bool `json:"tcp"`
	Parallel int  `json:"parallel"`
	Reverse  bool `json:"reverse"`
	Len      int  `json:"len"`
}

// iperfStreamResult is one stream's line in the results.
type iperfStreamResult struct {
	ID          int     `json:"id"`
	Bytes       int64   `json:"bytes"`
	Retransmits int     `json:"retransmits"`
	Jitter      float64 `json:"jitter"`
	Errors      int     `json:"errors"`
	Packets     int     `json:"packets"`
	StartTime   float64 `json:"start_time"`
	EndTime     float64 `json:"end_time"`
}

// iperfResults is the results message.
type iperfResults struct {
	CPUTotal   float64             `json:"cpu_util_total"`
	CPUUser    float64             `json:"cpu_util_user"`
	CPUSystem  float64             `json:"cpu_util_system"`
	SenderRetr int                 `json:"sender_has_retransmits"`
	Streams    []iperfStreamResult `json:"streams"`
}

// iperfServe runs one iperf3 test on l and returns the bytes each data
// stream moved (received, or sent with -R).
func iperfServe(l net.Listener) ([]int64, error) {
	ctl, err := l.Accept()
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	ctl.SetDeadline(time.Now().Add(2 * time.Minute))
	cookie := make([]byte, iperfCookieSize)
	if _, err := io.ReadFull(ctl, cookie); err != nil {
		return nil, fmt.Errorf("cookie: %w", err)
	}
	state := func(s int8) error { _, err := ctl.Write([]byte{byte(s)}); return err }
	if err := state(iperfParamExchange); err != nil {
		return nil, err
	}
	var p iperfParams
	if err := iperfReadJSON(ctl, &p); err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	if !p.TCP || p.Parallel < 1 {
		return nil, fmt.Errorf("parameters %+v: only TCP", p)
	}
	if p.Len <= 0 {
		p.Len = 128 << 10
	}
	if err := state(iperfCreateStreams); err != nil {
		return nil, err
	}
	streams := make([]net.Conn, 0, p.Parallel)
	defer func() {
		for _, c := range streams {
			c.Close()
		}
	}()
	for len(streams) < p.Parallel {
		c, err := l.Accept()
		if err != nil {
			return nil, err
		}
		streams = append(streams, c)
		got := make([]byte, iperfCookieSize)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(cookie) {
			return nil, fmt.Errorf("data stream cookie %q: %v", got, err)
		}
	}
	counts := make([]int64, len(streams))
	done := make(chan int, len(streams))
	start := time.Now()
	for k, c := range streams {
		go func() {
			defer func() { done <- k }()
			buf := make([]byte, p.Len)
			for i := range buf {
				buf[i] = byte(i)
			}
			for {
				var n int
				var err error
				if p.Reverse {
					n, err = c.Write(buf)
				} else {
					n, err = c.Read(buf)
				}
				counts[k] += int64(n)
				if err != nil {
					return
				}
			}
		}()
	}
	if err := state(iperfTestStart); err != nil {
		return nil, err
	}
	if err := state(iperfTestRunning); err != nil {
		return nil, err
	}
	var b [1]byte
	if _, err := io.ReadFull(ctl, b[:]); err != nil || b[0] != iperfTestEnd {
		return nil, fmt.Errorf("waiting for TEST_END: state %d, %v", b[0], err)
	}
	end := time.Since(start).Seconds()
	for _, c := range streams { // as iperf3's server: the streams close at TEST_END
		c.Close()
	}
	for range streams {
		<-done
	}
	if err := state(iperfExchangeResults); err != nil {
		return nil, err
	}
	var theirs json.RawMessage // not used (their sender_has_retransmits may be 2^64-1)
	if err := iperfReadJSON(ctl, &theirs); err != nil {
		return nil, fmt.Errorf("client results: %w", err)
	}
	ours := iperfResults{Streams: []iperfStreamResult{}}
	for k := range streams {
		id := 1 // iperf3 numbers its streams 1, 3, 4, 5 ...
		if k > 0 {
			id = k + 2
		}
		ours.Streams = append(ours.Streams, iperfStreamResult{ID: id, Bytes: counts[k], Retransmits: -1, EndTime: end})
	}
	if err := iperfWriteJSON(ctl, &ours); err != nil {
		return nil, err
	}
	if err := state(iperfDisplayResults); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(ctl, b[:]); err != nil || b[0] != iperfDone {
		return nil, fmt.Errorf("waiting for IPERF_DONE: state %d, %v", b[0], err)
	}
	return counts, nil
}

// iperfReadJSON reads a length-prefixed JSON message into v.
func iperfReadJSON(c net.Conn, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size == 0 || size > 1<<20 {
		return fmt.Errorf("JSON of %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(c, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// iperfWriteJSON writes v as a length-prefixed JSON message.
func iperfWriteJSON(c net.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	_, err = c.Write(append(msg, b...))
	return err
}

// TestIperf3: iperf3's client in host A (Linux TCP at default offloads)
// against an iperf3 server on vecnet's TCP (sock), one stream and four,
// to vecnet and from it (-R). Each run must end with iperf3's own
// success and its receiver having counted what the sender reports.
func TestIperf3(t *testing.T) {
	testutil.RequireTool(t, "iperf3")
	s := startServer(t, "nethttp")
	defer s.logErrors(t)
	const port = 5201
	l, err := sock.ListenTCP(s.d.Stack, netip.MustParseAddrPort(topo.RouterAAddr+":"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, tc := range []struct {
		name    string
		reverse bool
		streams int
	}{
		{"to vecnet", false, 1},
		{"from vecnet (-R)", true, 1},
		{"to vecnet, 4 streams", false, 4},
		{"from vecnet, 4 streams (-R)", true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				counts []int64
				err    error
			}
			srv := make(chan result, 1)
			go func() { c, err := iperfServe(l); srv <- result{c, err} }()
			args := []string{"-c", topo.RouterAAddr, "-p", strconv.Itoa(port), "-t", "2", "-P", strconv.Itoa(tc.streams),
				"-J", "--connect-timeout", "3000"}
			if tc.reverse {
				args = append(args, "-R")
			}
			out, cerr := s.rig.A.Run("iperf3", args...)
			var r result
			select {
			case r = <-srv:
			case <-time.After(30 * time.Second):
				l.Close() // unblocks the server's Accept or reads
				t.Fatalf("iperf3 server on vecnet did not finish; client: %v\n%s", cerr, out)
			}
			if cerr != nil || r.err != nil {
				t.Fatalf("iperf3 client: %v, server: %v\n%s", cerr, r.err, out)
			}
			var rep struct {
				End struct {
					SumSent     struct{ Bytes float64 } `json:"sum_sent"`
					SumReceived struct {
						Bytes         float64
						BitsPerSecond float64 `json:"bits_per_second"`
					} `json:"sum_received"`
				} `json:"end"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Error != "" {
				t.Fatalf("iperf3 output (%v): %s", err, out)
			}
			var total int64
			for _, n := range r.counts {
				total += n
			}
			sent, recvd := rep.End.SumSent.Bytes, rep.End.SumReceived.Bytes
			// The side that reports for vecnet counted total; the other
			// side's count differs by what was in flight (in buffers and
			// windows) when the streams closed at TEST_END.
			mine := recvd
			if tc.reverse {
				mine = sent
			}
			if recvd < 1<<20 || recvd > sent || sent-recvd > 16<<20 || int64(mine) != total {
				t.Fatalf("iperf3: sent %.0f, received %.0f; vecnet's side counted %d", sent, recvd, total)
			}
			t.Logf("%s: %.0f bytes sent, %.0f received, %.0f Mbit/s", tc.name, sent, recvd, rep.End.SumReceived.BitsPerSecond/1e6)
		})
	}
}
