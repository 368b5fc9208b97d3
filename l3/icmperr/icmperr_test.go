package icmperr

import "testing"

func TestBudgetPerClass(t *testing.T) {
	b := NewBudget(RateLimit{Rate: 1000, Burst: 2}, 0)
	for k, want := range []bool{true, true, false} {
		if got := b.Take(TimeExceeded); got != want {
			t.Fatalf("time exceeded take %d: %v, want %v", k, got, want)
		}
	}
	if !b.Take(TooBig) {
		t.Fatal("an empty time-exceeded bucket starved Packet Too Big")
	}
	b.Refill(999_999) // 0.999 tokens earned: not one yet
	if b.Take(TimeExceeded) {
		t.Fatal("took a token before one was earned")
	}
	b.Refill(1_000_000)
	if !b.Take(TimeExceeded) || b.Take(TimeExceeded) {
		t.Fatal("want exactly one token after 1 ms at 1000/s")
	}
	b.Refill(1e9) // a second: refilled to Burst, not beyond
	if !b.Take(Other) || !b.Take(Other) || b.Take(Other) {
		t.Fatal("refill went beyond the burst")
	}
}

func TestOrDefault(t *testing.T) {
	for _, c := range []struct{ in, want RateLimit }{
		{RateLimit{}, DefaultLimit},
		{RateLimit{Rate: 5}, RateLimit{Rate: 5, Burst: DefaultLimit.Burst}},
		{RateLimit{Rate: -1, Burst: 7}, RateLimit{Rate: DefaultLimit.Rate, Burst: 7}},
	} {
		if got := c.in.OrDefault(DefaultLimit); got != c.want {
			t.Errorf("%+v.OrDefault = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// The counters' names are what `show errors` and the tests of both
// families read: they must stay as they were before the fold.
func TestRateLimitErrorNames(t *testing.T) {
	for _, c := range []struct {
		tooBig, help, icmp string
		want               [NumClasses]string
	}{
		{"frag_needed", "fragmentation needed", "ICMP", [NumClasses]string{"rate_limited_time_exceeded", "rate_limited_frag_needed", "rate_limited_unreachable", "rate_limited_other"}},
		{"packet_too_big", "Packet Too Big", "ICMPv6", [NumClasses]string{"rate_limited_time_exceeded", "rate_limited_packet_too_big", "rate_limited_unreachable", "rate_limited_other"}},
	} {
		errs := RateLimitErrors(c.tooBig, c.help, c.icmp)
		if len(errs) != int(NumClasses) {
			t.Fatalf("%d counters, want %d", len(errs), NumClasses)
		}
		for k, e := range errs {
			if e.Name != c.want[k] || e.Help == "" {
				t.Errorf("%s class %d: %q (help %q), want %q", c.icmp, k, e.Name, e.Help, c.want[k])
			}
		}
	}
}
