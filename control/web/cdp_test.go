package web_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	vtestutil "github.com/vecnet/vecnet/internal/testutil"
)

// browser is a headless Chromium driven over the DevTools protocol (CDP):
// just enough of it to evaluate JavaScript in a page and take a
// screenshot.
type browser struct {
	ws  *websocket.Conn
	mu  sync.Mutex
	id  int
	log *vtestutil.SyncBuffer
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)`)

// startChromium opens url in a headless Chromium with a throw-away profile
// and returns a connection to the page. The browser's whole process group
// is killed at cleanup.
func startChromium(t *testing.T, url string, width, height int) *browser {
	t.Helper()
	vtestutil.RequireTool(t, "chromium")
	cmd := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-crash-reporter", "--disable-breakpad", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height),
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the wrapper script, the browser and its helpers
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{log: &vtestutil.SyncBuffer{}}
	found := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(b.log, line)
			if m := devtoolsLine.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[2]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		if b.ws != nil {
			b.ws.Close()
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-copied
		cmd.Wait()
		// The wrapper is reaped; wait for its children too before the
		// profile directory is removed.
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(-cmd.Process.Pid, 0) == nil && time.Now().Before(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			time.Sleep(10 * time.Millisecond) // polling for the group's end, with a deadline
		}
	})
	var port string
	select {
	case port = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("chromium did not open its DevTools port:\n%s", b.log)
	}
	// The page's target: the one whose URL is the page's.
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	var wsURL string
	vtestutil.Eventually(t, 30*time.Second, "chromium lists the page target", func() bool {
		resp, err := client.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		if json.NewDecoder(resp.Body).Decode(&targets) != nil {
			return false
		}
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, url) && tg.WebSocketDebuggerURL != "" {
				wsURL = tg.WebSocketDebuggerURL
				return true
			}
		}
		return false
	})
	if b.ws, err = websocket.Dial(wsURL, "", "http://127.0.0.1/"); err != nil {
		t.Fatalf("CDP: %v\n%s", err, b.log)
	}
	// The window's size less the browser's frame is the viewport: set the
	// viewport itself.
	if err := b.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	return b
}

// call sends one CDP command and returns its result, skipping the events
// that arrive in between.
func (b *browser) call(method string, params any, result any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.id++
	id := b.id
	b.ws.SetDeadline(time.Now().Add(30 * time.Second))
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return err
	}
	for {
		var msg struct {
			ID     int
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			return err
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(msg.Result, result)
	}
}

// eval evaluates expr, which must return a JSON string, in the page and
// decodes it into v.
func (b *browser) eval(expr string, v any) error {
	var r struct {
		Result struct {
			Type  string
			Value json.RawMessage
		}
		ExceptionDetails *struct{ Text string }
	}
	if err := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return errors.New("exception: " + r.ExceptionDetails.Text)
	}
	var s string
	if err := json.Unmarshal(r.Result.Value, &s); err != nil {
		return fmt.Errorf("eval returned %s %s", r.Result.Type, r.Result.Value)
	}
	return json.Unmarshal([]byte(s), v)
}

// screenshot returns a PNG of the page's viewport.
func (b *browser) screenshot() ([]byte, error) {
	var r struct{ Data []byte } // base64 in JSON: []byte decodes it
	err := b.call("Page.captureScreenshot", map[string]any{"format": "png"}, &r)
	return r.Data, err
}
