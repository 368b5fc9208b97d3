package topo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// OwnerDir holds one file per namespace that vecnet (the demo, a benchmark,
// a test) made and has not deleted yet: named after the namespace, holding
// the maker's process id. A maker that dies without cleaning up — kill -9,
// or a test binary's timeout panic, which runs no t.Cleanup — leaves its
// files behind, and the next maker removes those namespaces.
var OwnerDir = "/run/vecnet/netns"

// Claim records that this process made namespace name. Errors are ignored:
// the record only helps a later run clean up.
func Claim(name string) {
	sweepOnce.Do(func() { SweepStale() })
	if err := os.MkdirAll(OwnerDir, 0o700); err == nil {
		_ = os.WriteFile(filepath.Join(OwnerDir, name), []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
}

// Release forgets namespace name, after it was deleted.
func Release(name string) { _ = os.Remove(filepath.Join(OwnerDir, name)) }

var sweepOnce sync.Once

// SweepStale deletes every recorded namespace whose maker is no longer
// running and returns their names. Namespaces of running processes stay.
func SweepStale() []string {
	entries, err := os.ReadDir(OwnerDir)
	if err != nil {
		return nil
	}
	var swept []string
	for _, e := range entries {
		file := filepath.Join(OwnerDir, e.Name())
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() || running(pid) {
			continue
		}
		// Another sweeper may be faster; either way the namespace is gone.
		_ = exec.Command("ip", "netns", "del", e.Name()).Run()
		_ = os.Remove(file)
		swept = append(swept, e.Name())
	}
	return swept
}

// running reports whether process pid exists and is not a zombie (a killed
// process whose parent has not reaped it yet still answers kill(pid, 0)).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	k := strings.LastIndexByte(string(b), ')') // the command name may hold spaces and parentheses
	if k < 0 || k+2 >= len(b) {
		return true
	}
	state := b[k+2]
	return state != 'Z' && state != 'X'
}
