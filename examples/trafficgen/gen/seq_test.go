package gen

import "testing"

func TestSeqTracker(t *testing.T) {
	seqRange := func(a, b uint64) []uint64 {
		var s []uint64
		for i := a; i < b; i++ {
			s = append(s, i)
		}
		return s
	}
	cat := func(xs ...[]uint64) []uint64 {
		var s []uint64
		for _, x := range xs {
			s = append(s, x...)
		}
		return s
	}
	tests := []struct {
		name                                       string
		first                                      uint64
		in                                         []uint64
		received, lost, gaps, reordered, dup, late uint64
	}{
		{name: "in order", in: seqRange(0, 1000), received: 1000},
		{name: "in order from 70", first: 70, in: seqRange(70, 200), received: 130},
		{name: "one gap", in: cat(seqRange(0, 100), seqRange(150, 300)), received: 250, lost: 50, gaps: 1},
		{name: "two gaps across words", in: cat(seqRange(0, 10), seqRange(60, 130), seqRange(200, 201)), received: 81, lost: 120, gaps: 2},
		{name: "lost at start", in: seqRange(5, 10), received: 5, lost: 5, gaps: 1},
		{name: "reorder", in: []uint64{0, 2, 1, 3}, received: 4, reordered: 1},
		{name: "duplicate", in: []uint64{0, 1, 1, 2}, received: 3, dup: 1},
		{name: "gap beyond the window", in: cat(seqRange(0, 10), seqRange(200000, 200010)), received: 20, lost: 200000 - 10, gaps: 1},
		{name: "late", in: cat(seqRange(0, 100), seqRange(100000, 100001), []uint64{5}), received: 101, lost: 100000 - 100, gaps: 1, late: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewSeqTracker(tt.first)
			for _, s := range tt.in {
				tr.Add(s)
			}
			tr.Finish()
			got := [6]uint64{tr.Received, tr.Lost, tr.Gaps, tr.Reordered, tr.Duplicates, tr.Late}
			want := [6]uint64{tt.received, tt.lost, tt.gaps, tt.reordered, tt.dup, tt.late}
			if got != want {
				t.Errorf("received,lost,gaps,reordered,dup,late: want %v, got %v", want, got)
			}
		})
	}
}

func TestSeqTrackerNoAllocs(t *testing.T) {
	tr := NewSeqTracker(0)
	var s uint64
	if n := testing.AllocsPerRun(1000, func() { tr.Add(s); s += 3 }); n != 0 {
		t.Fatalf("Add allocates %v times", n)
	}
}
