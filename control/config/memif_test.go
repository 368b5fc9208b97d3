package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseMemif: the memif keys, their defaults, and a Marshal round trip.
func TestParseMemif(t *testing.T) {
	c, err := Parse("m.yaml", []byte(`workers: 2
interfaces:
  - name: nf0
    driver: memif
    socket: /run/vecnet/nf0.sock
    role: client
    id: 7
    secret: s3cret
    queues: 1
    ring_size: 2048
    addresses: [10.0.1.1/24]
  - name: nf1
    driver: memif
    socket: /run/vecnet/nf1.sock
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Interface{
		{Name: "nf0", Driver: "memif", MTU: 1500, MemifSocket: "/run/vecnet/nf0.sock", MemifRole: "client", MemifID: 7,
			MemifSecret: "s3cret", Queues: 1, RingSize: 2048, Addresses: c.Interfaces[0].Addresses},
		{Name: "nf1", Driver: "memif", MTU: 1500, MemifSocket: "/run/vecnet/nf1.sock", MemifRole: "server", Queues: 2, RingSize: DefaultMemifRingSize},
	}
	if !reflect.DeepEqual(c.Interfaces, want) {
		t.Fatalf("got %+v\nwant %+v", c.Interfaces, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("again.yaml", b)
	if err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
}

func TestMemifErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"no socket", "interfaces:\n  - {name: a, driver: memif}\n", "driver memif needs socket"},
		{"bad role", "interfaces:\n  - {name: a, driver: memif, socket: /s, role: master}\n", `"master" is not one of server, client`},
		{"id range", "interfaces:\n  - {name: a, driver: memif, socket: /s, id: -1}\n", "out of range"},
		{"long secret", "interfaces:\n  - {name: a, driver: memif, socket: /s, secret: " + strings.Repeat("x", 24) + "}\n", "memif allows 23"},
		{"ring too big", "interfaces:\n  - {name: a, driver: memif, socket: /s, ring_size: 32768}\n", "at most 16384"},
		{"socket on mem", "interfaces:\n  - {name: a, driver: mem, socket: /s}\n", "socket is for driver memif, not mem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
