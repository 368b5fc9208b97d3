package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/control/ctl/ctltest"
)

func TestParseArgs(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "VECNET_SOCKET" {
				return v
			}
			return ""
		}
	}
	for _, tt := range []struct {
		name         string
		args         []string
		env          string
		socket, line string
		err          bool
		json         bool
	}{
		{"default", []string{"show", "runtime"}, "", defaultSocket, "show runtime", false, false},
		{"env", []string{"show", "fib"}, "/tmp/x.sock", "/tmp/x.sock", "show fib", false, false},
		{"flag beats env", []string{"-s", "/a.sock", "sh", "run"}, "/tmp/x.sock", "/a.sock", "sh run", false, false},
		{"flag with =", []string{"-s=/b.sock", "help"}, "", "/b.sock", "help", false, false},
		{"no command", nil, "", defaultSocket, "", false, false},
		{"only flag", []string{"-s", "/c.sock"}, "", "/c.sock", "", false, false},
		{"dash dash", []string{"--", "-s"}, "", defaultSocket, "-s", false, false},
		{"command args look like flags later", []string{"trace", "add", "-5"}, "", defaultSocket, "trace add -5", false, false},
		{"unknown flag", []string{"-x", "show"}, "", "", "", true, false},
		{"missing flag value", []string{"-s"}, "", "", "", true, false},
		{"json", []string{"-json", "show", "interfaces"}, "", defaultSocket, "show interfaces", false, true},
		{"json two dashes", []string{"--json", "-s", "/d.sock", "show", "fib"}, "", "/d.sock", "show fib", false, true},
		{"json misspelt", []string{"-jsn", "show", "fib"}, "", "", "", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			socket, line, asJSON, err := parseArgs(tt.args, env(tt.env))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if err == nil && (socket != tt.socket || line != tt.line || asJSON != tt.json) {
				t.Errorf("got (%q, %q, %v), want (%q, %q, %v)", socket, line, asJSON, tt.socket, tt.line, tt.json)
			}
		})
	}
}

func TestRun(t *testing.T) {
	r := cli.NewRegistry()
	r.Register(cli.Command{Path: "show fib", Run: func(w io.Writer, args []string) error {
		fmt.Fprintf(w, "fib %v", args)
		return nil
	}})
	r.Register(cli.Command{Path: "fail", Run: func(io.Writer, []string) error { return errors.New("no luck") }})
	path := filepath.Join(t.TempDir(), "cli.sock")
	s, err := cli.Listen(path, r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	noEnv := func(string) string { return "" }

	var out, errb bytes.Buffer
	if st := run([]string{"-s", path, "sh", "fib", "x"}, nil, &out, &errb, noEnv, false); st != 0 || out.String() != "fib [x]\n" {
		t.Errorf("one command: status %d, out %q, err %q", st, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if st := run([]string{"-s", path, "fail"}, nil, &out, &errb, noEnv, false); st != 1 || !strings.Contains(errb.String(), "no luck") {
		t.Errorf("failing command: status %d, stderr %q", st, errb.String())
	}
	out.Reset()
	errb.Reset()
	stdin := strings.NewReader("show fib\n\n# comment\nfail\nshow fib a b\nquit\nshow fib never\n")
	if st := run([]string{"-s", path}, stdin, &out, &errb, noEnv, true); st != 1 ||
		out.String() != "vecnet# fib []\nvecnet# vecnet# vecnet# vecnet# fib [a b]\nvecnet# " ||
		!strings.Contains(errb.String(), "no luck") {
		t.Errorf("stdin: status %d, out %q, err %q", st, out.String(), errb.String())
	}
	errb.Reset()
	if st := run([]string{"-s", filepath.Join(t.TempDir(), "none.sock"), "show", "fib"}, nil, &out, &errb, noEnv, false); st != 1 || errb.Len() == 0 {
		t.Errorf("no server: status %d, stderr %q", st, errb.String())
	}
	if st := run([]string{"-bad"}, nil, &out, &errb, noEnv, false); st != 2 {
		t.Errorf("bad usage: status %d", st)
	}
}

// TestBinaryUsage runs the built vecnetctl with no daemon anywhere: help
// in all its spellings lists the daemon's commands on stdout with exit 0;
// bad flags and help for a command that does not exist exit 2 with a hint
// on stderr; a command with no daemon says it cannot reach vecnet, exit 1.
func TestBinaryUsage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "vecnetctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := filepath.Join(t.TempDir(), "absent.sock")
	for _, tc := range []struct {
		args         []string
		code         int
		stdout       []string // substrings
		stderrPrefix string   // "" means empty
	}{
		{[]string{"-h"}, 0, []string{usageLine, "show runtime", "ip route add"}, ""},
		{[]string{"--help"}, 0, []string{usageLine, "show runtime", "clear errors"}, ""},
		{[]string{"help"}, 0, []string{usageLine, "show runtime", "trace add"}, ""},
		{[]string{"-s", sock, "help"}, 0, []string{usageLine, "show fib"}, ""},
		{[]string{"help", "show"}, 0, []string{"show runtime", "show neighbors stats"}, ""},
		{[]string{"show", "-h"}, 0, []string{"show runtime", "show errors"}, ""},
		{[]string{"ip", "route", "--help"}, 0, []string{"ip route add", "ip route del"}, ""},
		{[]string{"help", "nosuch"}, 2, nil, "vecnetctl: unknown command \"nosuch\""},
		{[]string{"-no-such-flag"}, 2, nil, "vecnetctl: flag provided but not defined: -no-such-flag\n" + usageLine + " (vecnetctl -h for help)\n"},
		{[]string{"-s"}, 2, nil, "vecnetctl: flag needs an argument"},
		{[]string{"-s", sock, "show", "runtime"}, 1, nil, "vecnetctl: cannot reach vecnet at " + sock + ": is vecnet running?\n"},
		{[]string{"-s", sock}, 1, nil, "vecnetctl: cannot reach vecnet at " + sock + ": is vecnet running?\n"},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), "VECNET_SOCKET="+sock)
		var o, e bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(""), &o, &e
		var ee *exec.ExitError
		code := 0
		if err := cmd.Run(); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		name := "vecnetctl " + strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", name, code, tc.code, e.String())
		}
		for _, s := range tc.stdout {
			if !strings.Contains(o.String(), s) {
				t.Errorf("%s: stdout lacks %q:\n%s", name, s, o.String())
			}
		}
		if tc.stdout == nil && o.Len() != 0 {
			t.Errorf("%s: stdout %q, want nothing", name, o.String())
		}
		switch {
		case tc.stderrPrefix == "" && e.Len() != 0:
			t.Errorf("%s: stderr %q, want nothing", name, e.String())
		case !strings.HasPrefix(e.String(), tc.stderrPrefix):
			t.Errorf("%s: stderr %q, want it to begin %q", name, e.String(), tc.stderrPrefix)
		}
	}
}

// TestJSON: vecnetctl -json prints a show command's JSON, as the control
// layer's golden file has it; a show command refuses an unknown flag.
func TestJSON(t *testing.T) {
	r := cli.NewRegistry()
	for _, c := range ctl.Commands(ctltest.New()) {
		if err := r.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "cli.sock")
	s, err := cli.Listen(path, r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	noEnv := func(string) string { return "" }
	for _, name := range []string{"interfaces", "fib", "runtime"} {
		want, err := os.ReadFile("../../control/ctl/testdata/" + name + ".json.golden")
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if st := run([]string{"-s", path, "-json", "show", name}, nil, &out, &errb, noEnv, false); st != 0 || out.String() != string(want) {
			t.Errorf("-json show %s: status %d, stderr %q, out:\n%s", name, st, errb.String(), out.String())
		}
		var v any
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			t.Errorf("-json show %s: %v", name, err)
		}
	}
	var out, errb bytes.Buffer
	if st := run([]string{"-s", path, "show", "interfaces", "--jsn"}, nil, &out, &errb, noEnv, false); st != 1 || !strings.Contains(errb.String(), "unknown flag") {
		t.Errorf("show interfaces --jsn: status %d, stderr %q", st, errb.String())
	}
	out.Reset()
	if st := run([]string{"-s", path, "-json"}, strings.NewReader("show fib\n"), &out, &errb, noEnv, false); st != 0 || !json.Valid(out.Bytes()) {
		t.Errorf("-json on stdin: status %d, out %q", st, out.String())
	}
}
