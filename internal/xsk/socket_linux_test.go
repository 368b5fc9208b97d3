package xsk

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
)

func mapUmem(t *testing.T, chunks int) []byte {
	t.Helper()
	m, err := unix.Mmap(-1, 0, chunks*ChunkSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

func TestOpenInvalidConfig(t *testing.T) {
	umem := mapUmem(t, 4)
	tests := []struct {
		name string
		umem []byte
		cfg  Config
	}{
		{"empty umem", nil, Config{Ifindex: 1}},
		{"partial chunk", umem[:ChunkSize+1], Config{Ifindex: 1}},
		{"unaligned", umem[64 : 64+ChunkSize], Config{Ifindex: 1}},
		{"zerocopy and copy", umem, Config{Ifindex: 1, ZeroCopy: true, Copy: true}},
		{"ring not power of two", umem, Config{Ifindex: 1, FillSize: 100}},
		{"no ifindex", umem, Config{}},
		{"negative queue", umem, Config{Ifindex: 1, Queue: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.umem, tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

// TestOpenVeth binds on a two-queue veth: zero-copy falls back to copy
// (veth has none), a queue past the last fails, a shared socket on another
// queue gets its own fill ring and one on the same queue shares the
// primary's.
// Errors inside ns.Do are returned, not t.Fatal-ed: Fatal would end the
// namespace goroutine and leave Do waiting.
func TestOpenVeth(t *testing.T) {
	ns := testutil.NewNS(t, "xs")
	xsa, xsb := testutil.Name("xsa"), testutil.Name("xsb")
	testutil.Veth(t, ns, xsa, ns, xsb, "numtxqueues", "2", "numrxqueues", "2")
	umem := mapUmem(t, 64)
	err := ns.Do(func() error {
		l, err := netlink.LinkByName(xsb)
		if err != nil {
			return err
		}
		ifindex := l.Attrs().Index
		small := Config{Ifindex: ifindex, FillSize: 64, CompSize: 64, RXSize: 64, TXSize: 64}

		zc := small
		zc.ZeroCopy = true
		s, err := Open(umem, zc)
		if err != nil {
			return fmt.Errorf("Open with ZeroCopy on veth: %w", err)
		}
		defer s.Close()
		if s.Mode() != ModeCopy {
			t.Errorf("mode = %v, want copy (veth has no zero-copy)", s.Mode())
		}
		if s.Fill().Size() != 64 || s.RX().Size() != 64 || s.TX().Size() != 64 || s.Comp().Size() != 64 {
			t.Errorf("ring sizes %d/%d/%d/%d, want 64", s.Fill().Size(), s.RX().Size(), s.TX().Size(), s.Comp().Size())
		}
		if _, err := s.Stats(); err != nil {
			t.Errorf("Stats: %v", err)
		}

		q1 := small
		q1.Queue = 1
		s1, err := OpenShared(s, q1)
		if err != nil {
			return fmt.Errorf("OpenShared on queue 1: %w", err)
		}
		defer s1.Close()
		if s1.Fill() == s.Fill() || s1.Comp() == s.Comp() {
			t.Error("shared socket on another queue uses the primary's fill/comp rings")
		}

		s0, err := OpenShared(s, small)
		if err != nil {
			return fmt.Errorf("OpenShared on the primary queue: %w", err)
		}
		if s0.Fill() != s.Fill() || s0.Comp() != s.Comp() {
			t.Error("shared socket on the same queue has its own fill/comp rings")
		}
		if err := s0.Close(); err != nil {
			t.Errorf("close shared: %v", err)
		}
		// The primary's rings survive the shared socket's Close.
		start, got := s.Fill().Reserve(1)
		s.Fill().Set(start, 0)
		s.Fill().Submit(got)

		q2 := small
		q2.Queue = 2
		if s2, err := OpenShared(s, q2); err == nil {
			s2.Close()
			t.Error("OpenShared on a queue past the last succeeded")
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := OpenShared(s, small); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("OpenShared on a closed primary: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBusyPollOptions: a socket opened with BusyPoll carries the three
// socket options (SO_BUSY_POLL_BUDGET cannot be read back: its setsockopt
// succeeding is the check); one opened without leaves them off.
func TestBusyPollOptions(t *testing.T) {
	ns := testutil.NewNS(t, "xb")
	xba, xbb := testutil.Name("xba"), testutil.Name("xbb")
	testutil.Veth(t, ns, xba, ns, xbb, "numtxqueues", "2", "numrxqueues", "2")
	umem, umem2 := mapUmem(t, 64), mapUmem(t, 64)
	err := ns.Do(func() error {
		l, err := netlink.LinkByName(xbb)
		if err != nil {
			return err
		}
		cfg := Config{Ifindex: l.Attrs().Index, FillSize: 64, CompSize: 64, RXSize: 64, TXSize: 64,
			BusyPoll: BusyPoll{Usecs: 20, Budget: 64, Prefer: true}}
		s, err := Open(umem, cfg)
		if err != nil {
			return err
		}
		get := func(opt int) int {
			v, err := unix.GetsockoptInt(s.FD(), unix.SOL_SOCKET, opt)
			if err != nil {
				t.Errorf("getsockopt %d: %v", opt, err) // not Fatal: this is the namespace's goroutine
			}
			return v
		}
		if a, c := get(unix.SO_BUSY_POLL), get(unix.SO_PREFER_BUSY_POLL); a != 20 || c != 1 {
			t.Errorf("busy poll %d µs, prefer %d; want 20, 1", a, c)
		}
		s.Close()
		cfg.BusyPoll, cfg.Queue = BusyPoll{}, 1
		if s, err = Open(umem2, cfg); err != nil {
			return err
		}
		if a, c := get(unix.SO_BUSY_POLL), get(unix.SO_PREFER_BUSY_POLL); a != 0 || c != 0 {
			t.Errorf("without BusyPoll: busy poll %d µs, prefer %d", a, c)
		}
		return s.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
