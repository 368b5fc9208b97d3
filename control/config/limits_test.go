package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const limitsBase = `
interfaces:
  - {name: a, driver: mem}
`

func TestLimits(t *testing.T) {
	c, err := Parse("limits.yaml", []byte(limitsBase+`
limits:
  cli_connections: 8
  cli_write_timeout: 2500ms
  socket_queue: 256
  socket_budget: 4096
  pool_reserve: 2048
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{CLIConnections: 8, CLIWriteTimeout: 2500 * time.Millisecond, SocketQueue: 256, SocketBudget: 4096, PoolReserve: 2048}
	if c.Limits != want {
		t.Fatalf("limits %+v, want %+v", c.Limits, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("marshalled.yaml", b)
	if err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	if c, err := Parse("none.yaml", []byte(limitsBase)); err != nil || c.Limits != (Limits{}) {
		t.Fatalf("no limits key: %+v, %v; want all zero (defaults)", c.Limits, err)
	}
	if b, _ := Marshal(&Config{Workers: 1, Interfaces: c.Interfaces}); strings.Contains(string(b), "limits") {
		t.Fatalf("unset limits marshalled:\n%s", b)
	}
	for _, tc := range []struct{ yaml, err string }{
		{"limits: {cli_connections: 0}", "cli_connections: 0 is out of range"},
		{"limits: {cli_write_timeout: soon}", `cli_write_timeout: "soon" is not a duration`},
		{"limits: {cli_write_timeout: 1ms}", "cli_write_timeout: 1ms is out of range"},
		{"limits: {socket_budget: -1}", "socket_budget: -1 is out of range"},
		{"limits: {socket_queue: many}", `socket_queue: "many" is not an integer`},
		{"limits: {rcvbuf: 1}", "rcvbuf"},
	} {
		_, err := Parse("bad.yaml", []byte(limitsBase+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", tc.yaml, err, tc.err)
		}
	}
}
