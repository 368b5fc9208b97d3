package daemon

import (
	"strings"
	"testing"

	"github.com/vecnet/vecnet/driver/offload"
)

func TestWriteOffload(t *testing.T) {
	var c offload.Counters
	c.Segmented, c.Segments, c.Completed = 3, 40, 7
	c.Err[offload.ErrUnsupported] = 2
	c.Err[offload.ErrNoBuffer] = 1
	var b strings.Builder
	if err := writeOffload(&b, []OffloadRow{{Name: "eth0", Counters: c}, {Name: "eth1"}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"eth0  3", "40", "7", "offload-unsupported 2", "offload-no-buffer 1", "eth1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[2], "-") {
		t.Errorf("want a header and two rows, eth1 with no errors:\n%s", out)
	}
}
