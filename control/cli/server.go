package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxSocketPath is the longest unix socket path (sun_path without the NUL).
const maxSocketPath = 107

// Defaults of Limits.
const (
	DefaultMaxConns     = 64
	DefaultWriteTimeout = 10 * time.Second
)

// Limits bound what clients can hold of a Server, so that a stuck or
// greedy client cannot stall the commands of others.
type Limits struct {
	// MaxConns is how many connections are served at once (default
	// DefaultMaxConns); one more is answered with an error frame saying
	// so and closed.
	MaxConns int
	// WriteTimeout is the longest one write to a client may block (default
	// DefaultWriteTimeout): a client that stops reading its output is
	// disconnected after it, and its command's further output discarded.
	WriteTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	return l
}

// Server serves a Registry on a unix socket: one goroutine per connection,
// each running the commands its client sends one after another. Commands
// from different connections run concurrently and are not serialised; the
// registered handlers synchronise themselves. Create one with Listen.
type Server struct {
	path   string
	reg    *Registry
	limits Limits
	ln     *net.UnixListener
	fi     os.FileInfo // the socket file we created, so Close removes only ours

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var tmpSeq atomic.Uint64

// Listen creates the unix socket at path (mode 0600; the parent directory is
// created with mode 0700 if missing) and serves r on it until Close, with the
// default Limits. A stale socket file left by a dead server is removed; a
// live one, or a file that is not a socket, is an error.
func Listen(path string, r *Registry) (*Server, error) {
	return ListenLimits(path, r, Limits{})
}

// ListenLimits is Listen with limits (zero fields take their defaults).
func ListenLimits(path string, r *Registry, limits Limits) (*Server, error) {
	ln, fi, err := ListenSocket(path)
	if err != nil {
		return nil, err
	}
	s := &Server{path: path, reg: r, limits: limits.withDefaults(), ln: ln, fi: fi, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// ListenSocket creates a unix socket listener at path with mode 0600 (the
// parent directory is created with mode 0700 if missing): it binds under a
// temporary name, makes it 0600 and links it into place, so the socket is
// never reachable with looser permissions. A stale socket file left by a
// dead server is removed; a live one, or a file that is not a socket, is an
// error. fi identifies the file, so that its owner removes only its own. The
// listener does not unlink the file on Close.
func ListenSocket(path string) (ln *net.UnixListener, fi os.FileInfo, err error) {
	if len(path) > maxSocketPath {
		return nil, nil, fmt.Errorf("cli: socket path %q is longer than %d bytes", path, maxSocketPath)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cli: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, nil, err
	}
	// Bind under a temporary name, make it 0600, then link it into place:
	// the socket is never reachable with looser permissions, and an
	// existing file at path is never clobbered.
	tmp := filepath.Join(dir, fmt.Sprintf(".cli-%d-%d.tmp", os.Getpid(), tmpSeq.Add(1)))
	if len(tmp) > maxSocketPath {
		tmp = path // no room for a temporary name; chmod right after bind
	}
	ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("cli: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, os.FileInfo, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, nil, fmt.Errorf("cli: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if tmp != path {
		if err := os.Link(tmp, path); err != nil {
			return fail(err)
		}
		os.Remove(tmp)
	}
	if fi, err = os.Lstat(path); err != nil {
		return fail(err)
	}
	return ln, fi, nil
}

// removeStale removes path if it is a socket nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("cli: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("cli: another server is listening on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cli: removing stale socket: %w", err)
	}
	return nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

func (s *Server) accept() {
	defer s.wg.Done()
	backoff := time.Duration(0)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of fds or similar: wait and retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		if len(s.conns) >= s.limits.MaxConns {
			s.wg.Add(1)
			s.mu.Unlock()
			go s.refuse(c)
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// refuse tells a client over the connection limit so, and closes it.
func (s *Server) refuse(c net.Conn) {
	defer s.wg.Done()
	bw := bufio.NewWriter(deadlineWriter{c: c, timeout: s.limits.WriteTimeout})
	msg := fmt.Sprintf("too many CLI connections (limit %d); try again later", s.limits.MaxConns)
	if writeFrame(bw, frameError, []byte(msg)) == nil {
		bw.Flush()
	}
	c.Close()
}

// deadlineWriter writes to a connection, each write bounded by timeout.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.c.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.c.Write(p)
}

// serve runs the commands one connection sends until it closes.
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, MaxLine+1)
	bw := bufio.NewWriterSize(deadlineWriter{c: c, timeout: s.limits.WriteTimeout}, maxFrame+5)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			writeFrame(bw, frameError, []byte(fmt.Sprintf("command line longer than %d bytes", MaxLine)))
			bw.Flush()
			return // cannot find the next line's start reliably
		}
		if err != nil {
			return // EOF, or Close closed the connection
		}
		err = s.run(&outputWriter{w: bw}, strings.TrimRight(string(line), "\r\n"))
		if err != nil {
			err = writeFrame(bw, frameError, []byte(err.Error()))
		} else {
			err = writeFrame(bw, frameOK, nil)
		}
		if err != nil || bw.Flush() != nil {
			return
		}
	}
}

// run executes one line, turning a panicking command into an error so that
// one bad handler does not take the daemon down.
func (s *Server) run(w *outputWriter, line string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("command %q panicked: %v", line, p)
		}
	}()
	return s.reg.Exec(w, line)
}

// Close stops accepting, closes every connection, waits for the running
// commands to return, and removes the socket file if it is still the one
// Listen created. Later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.closeErr = s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		if fi, err := os.Lstat(s.path); err == nil && os.SameFile(fi, s.fi) {
			if err := os.Remove(s.path); err != nil && s.closeErr == nil {
				s.closeErr = err
			}
		}
	})
	return s.closeErr
}
