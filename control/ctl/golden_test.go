package ctl_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/control/ctl/ctltest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// showCommands are the show commands with a golden file each.
var showCommands = []string{"runtime", "errors", "interfaces", "offload", "fib", "neighbors", "neighbors stats", "trace", "acls", "sessions", "nat sessions", "policers", "bridge", "bridge macs", "linux-cp"}

func registry(t *testing.T, b ctl.Backend) *cli.Registry {
	t.Helper()
	r := cli.NewRegistry()
	for _, c := range ctl.Commands(b) {
		if err := r.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

// TestGolden: every show command's table and JSON, on the fake backend's
// fixed rows, are the golden files; the JSON's field names are the
// snake_case names the golden files fix.
func TestGolden(t *testing.T) {
	r := registry(t, ctltest.New())
	for _, cmd := range showCommands {
		name := strings.ReplaceAll(cmd, " ", "-")
		t.Run(name, func(t *testing.T) {
			var table, js bytes.Buffer
			if err := r.Exec(&table, "show "+cmd); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", table.Bytes())
			if err := r.Exec(&js, "show "+cmd+" --json"); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js.Bytes()) {
				t.Fatalf("not JSON:\n%s", js.String())
			}
			golden(t, name+".json", js.Bytes())
			var alt bytes.Buffer
			if err := r.Exec(&alt, "sh "+cmd+" -json"); err != nil || alt.String() != js.String() {
				t.Errorf("-json differs from --json (%v)", err)
			}
		})
	}
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestJSONFieldNames: every field of every row type has an explicit
// snake_case JSON name.
func TestJSONFieldNames(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() != "github.com/vecnet/vecnet/control/ctl" {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !snake.MatchString(name) {
				t.Errorf("%s.%s: JSON name %q is not snake_case", ty.Name(), f.Name, name)
			}
			walk(f.Type)
		}
	}
	for _, v := range []any{ctl.RuntimeReport{}, ctl.ErrorRow{}, ctl.InterfaceRow{}, ctl.FIBRow{}, ctl.NeighborReport{},
		ctl.OffloadRow{}, ctl.TraceRow{}, ctl.Route{}, ctl.Neighbor{}, ctl.ACLRow{}, ctl.SessionRow{}, ctl.NATSessionRow{}, ctl.PolicerRow{}, ctl.BridgeRow{}, ctl.BridgeMACRow{},
		ctl.LinuxCPReport{}, ctl.Capture{}, ctl.Status{}} {
		walk(reflect.TypeOf(v))
	}
	var names []string
	for ty := range seen {
		names = append(names, ty.Name())
	}
	sort.Strings(names)
	if len(names) < 14 {
		t.Errorf("walked only %v", names)
	}
}

// TestShowArguments: a show command takes --json and nothing else.
func TestShowArguments(t *testing.T) {
	r := registry(t, ctltest.New())
	for _, line := range []string{"show interfaces --jsn", "show interfaces -j", "show fib extra", "show runtime --json x"} {
		var b bytes.Buffer
		if err := r.Exec(&b, line); err == nil {
			t.Errorf("%q: accepted, output:\n%s", line, b.String())
		}
	}
}
