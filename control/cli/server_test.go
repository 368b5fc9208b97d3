package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func listen(t *testing.T, r *Registry) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "cli.sock")
	s, err := Listen(path, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestServerRoundTrip(t *testing.T) {
	r := testRegistry(t)
	big := strings.Repeat("0123456789abcdef", 3*maxFrame/16+7) // several frames
	r.Register(Command{Path: "big", Run: func(w io.Writer, _ []string) error { _, err := io.WriteString(w, big); return err }})
	r.Register(Command{Path: "boom", Run: func(io.Writer, []string) error { panic("kaboom") }})
	_, path := listen(t, r)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode %v, %v; want 0700", di.Mode(), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the socket (temporary name left behind?)", len(entries))
	}

	for _, tt := range []struct {
		line, out, err string
	}{
		{"sh run", `show runtime []`, ""},
		{"ip route add 10.0.0.0/8 via 1.1.1.1", `ip route add ["10.0.0.0/8" "via" "1.1.1.1"]`, ""},
		{"", "", ""},
		{"fail", "partial", "it failed"},
		{"nope", "", `unknown command "nope"`},
		{"big", big, ""},
		{"boom", "", `command "boom" panicked: kaboom`},
	} {
		out, err := Call(path, tt.line)
		if out != tt.out {
			t.Errorf("Call(%q) output %.60q (%d bytes), want %.60q", tt.line, out, len(out), tt.out)
		}
		if tt.err == "" {
			if err != nil {
				t.Errorf("Call(%q): %v", tt.line, err)
			}
			continue
		}
		var re *RemoteError
		if !errors.As(err, &re) || !strings.Contains(re.Msg, tt.err) {
			t.Errorf("Call(%q) error %v, want a RemoteError containing %q", tt.line, err, tt.err)
		}
	}
}

func TestClientSeveralCommands(t *testing.T) {
	_, path := listen(t, testRegistry(t))
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 5 {
		line := fmt.Sprintf("trace add %d", i)
		out, err := cl.Do(line)
		if err != nil || out != fmt.Sprintf(`trace add ["%d"]`, i) {
			t.Fatalf("Do(%q) = %q, %v", line, out, err)
		}
		if _, err := cl.Do("fail"); err == nil {
			t.Fatal("fail did not fail")
		}
	}
	if _, err := cl.Do("a\nb"); err == nil {
		t.Error("a line with a newline was sent")
	}
	if _, err := cl.Do(strings.Repeat("x", MaxLine+1)); err == nil {
		t.Error("an over-long line was sent")
	}
}

func TestServerLongLine(t *testing.T) {
	_, path := listen(t, testRegistry(t))
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s\n", strings.Repeat("x", 2*MaxLine))
	cl := &Client{c: c}
	cl.r, cl.w = newClientBuffers(c)
	typ, b, err := readFrame(cl.r, nil)
	if err != nil || typ != frameError || !strings.Contains(string(b), "longer than") {
		t.Fatalf("reply %c %q %v, want an error frame", typ, b, err)
	}
}

func TestServerConcurrentClients(t *testing.T) {
	_, path := listen(t, testRegistry(t))
	const clients, calls = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range calls {
				want := fmt.Sprintf(`trace add ["%d-%d"]`, i, j)
				out, err := Call(path, fmt.Sprintf("trace add %d-%d", i, j))
				if err != nil || out != want {
					errs <- fmt.Errorf("client %d call %d: %q, %v", i, j, out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestServerClose(t *testing.T) {
	s, path := listen(t, testRegistry(t))
	cl, err := Dial(path) // an idle connection that Close must end
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Do("show fib"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if _, err := cl.Do("show fib"); err == nil {
		t.Error("a connection survived Close")
	}
	if _, err := Call(path, "show fib"); err == nil {
		t.Error("Call succeeded after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenStaleAndBusy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cli.sock")

	// A stale socket: bound, then the listener closed without unlinking.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	s, err := Listen(path, testRegistry(t))
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer s.Close()
	if out, err := Call(path, "show fib"); err != nil || out != "show fib []" {
		t.Fatalf("Call = %q, %v", out, err)
	}

	// A live one is not taken over.
	if _, err := Listen(path, testRegistry(t)); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	// A regular file is not removed.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := Listen(file, testRegistry(t)); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a regular file: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("regular file removed: %v", err)
	}
	// Close leaves alone a socket that is no longer ours.
	os.Remove(path)
	other, err := Listen(path, testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s.Close()
	if _, err := Call(path, "show fib"); err != nil {
		t.Errorf("closing the old server broke the new one: %v", err)
	}
}

// TestServerConnectionLimit: one connection over the limit is told why and
// closed; the ones within it keep working, and a slot freed is reusable.
func TestServerConnectionLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cli.sock")
	s, err := ListenLimits(path, testRegistry(t), Limits{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var held []*Client
	for range 2 {
		cl, err := Dial(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		if _, err := cl.Do("sh run"); err != nil { // served: it holds a slot
			t.Fatal(err)
		}
		held = append(held, cl)
	}
	_, err = Call(path, "sh run")
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "too many CLI connections (limit 2)") {
		t.Fatalf("third connection: %v, want a RemoteError about the connection limit", err)
	}
	if out, err := held[0].Do("sh run"); err != nil || out != "show runtime []" {
		t.Fatalf("a connection within the limit after the refusal: %q, %v", out, err)
	}
	held[1].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := Call(path, "sh run")
		if err == nil && out == "show runtime []" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a freed slot is not reused: %q, %v", out, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServerCutsStalledReader: a client that sends a command with a large
// output and never reads is disconnected after the write timeout; its
// command's writes fail instead of blocking the goroutine (or whatever
// thread runs the command) forever.
func TestServerCutsStalledReader(t *testing.T) {
	r := NewRegistry()
	writeErr := make(chan error, 1)
	chunk := make([]byte, 1<<20)
	r.Register(Command{Path: "flood", Run: func(w io.Writer, _ []string) error {
		for range 64 { // 64 MiB: far more than the socket buffers hold
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return err
			}
		}
		writeErr <- nil
		return nil
	}})
	path := filepath.Join(t.TempDir(), "cli.sock")
	s, err := ListenLimits(path, r, Limits{WriteTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "flood\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-writeErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the command's write to a client that never reads ended with %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command is still blocked writing to a client that never reads")
	}
	// The server closed the connection: reading drains the buffered output
	// and then ends.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the stalled connection was not closed by the server: %v", err)
	}
}
