package policer

import (
	"strings"
	"sync"
	"testing"
)

func colorsOf(m *Meter, now int64, sizes ...uint32) string {
	cs := make([]Color, len(sizes))
	m.Color(now, sizes, cs)
	var b strings.Builder
	for _, c := range cs {
		b.WriteByte("GYR"[c])
	}
	return b.String()
}

// TestRFC2697Sequence walks srTCM through its three colours and a refill
// that spills from the committed bucket into the excess one.
func TestRFC2697Sequence(t *testing.T) {
	m, err := NewMeter(Config{Mode: SingleRate, CIR: 1000, CBS: 3000, EBS: 2000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		now   int64
		sizes []uint32
		want  string
	}{
		{0, []uint32{1000, 1000, 1000, 1000, 1000, 1000}, "GGGYYR"},
		{0, []uint32{1}, "R"},
		// 1 s at 1000 B/s: Tc 0 → 1000.
		{1e9, []uint32{1000, 1}, "GR"},
		// 6 s: Tc fills to 3000, the other 3000 spill into Te (max 2000).
		{7e9, []uint32{3000, 2000, 1}, "GYR"},
		// A large packet red does not consume: a small one after it may pass.
		{8e9, []uint32{1500, 500}, "RG"},
	}
	for i, s := range steps {
		if got := colorsOf(m, s.now, s.sizes...); got != s.want {
			t.Fatalf("step %d at %d ns: colours %s, want %s", i, s.now, got, s.want)
		}
	}
}

// TestRFC2698Sequence does the same for trTCM.
func TestRFC2698Sequence(t *testing.T) {
	m, err := NewMeter(Config{Mode: TwoRate, CIR: 1000, CBS: 2000, PIR: 2000, PBS: 3000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		now   int64
		sizes []uint32
		want  string
	}{
		{0, []uint32{1000, 1000, 1000, 1000}, "GGYR"},
		// 1 s: Tp 0 → 2000, Tc 0 → 1000.
		{1e9, []uint32{1000, 1000, 1000}, "GYR"},
		// Beyond the peak burst a packet is red whatever Tc holds.
		{10e9, []uint32{3001}, "R"},
		{10e9, []uint32{2000, 1000}, "GY"},
	}
	for i, s := range steps {
		if got := colorsOf(m, s.now, s.sizes...); got != s.want {
			t.Fatalf("step %d at %d ns: colours %s, want %s", i, s.now, got, s.want)
		}
	}
}

// TestRateAccuracy offers twice the committed rate for 20 simulated seconds
// in vectors and checks what each colour got against the configured rates.
func TestRateAccuracy(t *testing.T) {
	const (
		cir, pir = 12_500_000, 25_000_000 // 100 and 200 Mbit/s
		seconds  = 20
	)
	tests := []struct {
		name       string
		cfg        Config
		offered    int64 // bytes per second
		wantGreen  int64 // bytes per second
		wantYellow int64
	}{
		{"srTCM 2x CIR", Config{Mode: SingleRate, CIR: cir, CBS: 64 << 10, EBS: 128 << 10}, 2 * cir, cir, 0},
		{"trTCM 3x CIR", Config{Mode: TwoRate, CIR: cir, CBS: 64 << 10, PIR: pir, PBS: 128 << 10}, 3 * cir, cir, pir - cir},
		{"srTCM under CIR", Config{Mode: SingleRate, CIR: cir, CBS: 64 << 10}, cir / 2, cir / 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMeter(tc.cfg, 0)
			if err != nil {
				t.Fatal(err)
			}
			sizes := make([]uint32, 32)
			for i := range sizes {
				sizes[i] = uint32(64 + 1400*(i%2)) // a mix of small and large
			}
			var batch int64
			for _, s := range sizes {
				batch += int64(s)
			}
			step := batch * 1e9 / tc.offered // ns between vectors
			cs := make([]Color, len(sizes))
			var got [NumColors]int64
			for now := int64(0); now < seconds*1e9; now += step {
				m.Color(now, sizes, cs)
				for i, c := range cs {
					got[c] += int64(sizes[i])
				}
			}
			// Both buckets start full: a burst's worth above the rate.
			check := func(name string, got, want, burst int64) {
				if hi, lo := want*seconds+burst, want*seconds*95/100; got > hi || got < lo {
					t.Errorf("%s: %d bytes in %d s, want %d..%d (rate %d B/s within 5%%, plus the burst)",
						name, got, seconds, lo, hi, want)
				}
			}
			x := int64(tc.cfg.EBS + tc.cfg.PBS)
			check("green", got[Green], tc.wantGreen, int64(tc.cfg.CBS))
			check("yellow", got[Yellow], tc.wantYellow, x)
		})
	}
}

// TestConcurrentWorkers has several goroutines share one meter, as workers
// do, and checks that together they get the meter's rate, not a multiple.
func TestConcurrentWorkers(t *testing.T) {
	const cir, workers, seconds = 1_000_000, 4, 10
	m, err := NewMeter(Config{Mode: SingleRate, CIR: cir, CBS: 10_000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var green int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sizes := []uint32{100, 100, 100, 100}
			cs := make([]Color, len(sizes))
			var g int64
			// Each worker offers the full rate: four times the meter's.
			for now := int64(w); now < seconds*1e9; now += 400_000 {
				m.Color(now, sizes, cs)
				for i, c := range cs {
					if c == Green {
						g += int64(sizes[i])
					}
				}
			}
			mu.Lock()
			green += g
			mu.Unlock()
		}()
	}
	wg.Wait()
	if max := int64(cir*seconds + 10_000); green > max || green < max*95/100 {
		t.Fatalf("workers together got %d green bytes in %d s, want about %d", green, seconds, max)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string // substring of the error, "" for valid
	}{
		{Config{Mode: SingleRate, CIR: 1000, CBS: 1500}, ""},
		{Config{Mode: SingleRate, CIR: 1000}, "both 0"},
		{Config{Mode: SingleRate, CIR: 1000, CBS: 1500, PIR: 5}, "no pir"},
		{Config{Mode: TwoRate, CIR: 1000, CBS: 1500, PIR: 2000, PBS: 3000}, ""},
		{Config{Mode: TwoRate, CIR: 2000, CBS: 1500, PIR: 1000, PBS: 3000}, "below cir"},
		{Config{Mode: TwoRate, CIR: 1000, PIR: 2000, PBS: 3000}, "above 0"},
		{Config{Mode: SingleRate, CIR: MaxRate + 1, CBS: 1}, "cir"},
		{Config{Mode: SingleRate, CIR: 1, CBS: MaxBurst + 1}, "cbs"},
		{Config{Mode: 7, CIR: 1, CBS: 1}, "unknown mode"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestColorAllocatesNothing(t *testing.T) {
	m, err := NewMeter(Config{Mode: TwoRate, CIR: 1000, CBS: 1500, PIR: 2000, PBS: 3000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sizes, cs := make([]uint32, 256), make([]Color, 256)
	now := int64(0)
	if a := testing.AllocsPerRun(100, func() { now += 1000; m.Color(now, sizes, cs) }); a != 0 {
		t.Fatalf("Color allocates %v times per vector", a)
	}
}
