package app

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/vecnet/vecnet/pkt/pkttest"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// TestEcho: an application attached as client to an application serving
// the socket; frames go both ways, and Wait wakes on the peer's interrupt.
func TestEcho(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	srv, err := Attach(Config{Socket: sock, Server: true, Name: "srv"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := Attach(Config{Socket: sock, Name: "cli"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if app, name := cli.Peer(); app != "vecnet-app" || name != "srv" {
		t.Errorf("peer %q %q", app, name)
	}
	for !srv.Connected() {
		srv.Wait(10 * time.Millisecond)
	}
	frames := [][]byte{bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 1500)}
	bufs := [][]byte{make([]byte, 2048), make([]byte, 2048), make([]byte, 2048)}
	lens := make([]int, 3)
	for round := range 3 {
		if n := cli.Send(frames); n != 2 {
			t.Fatalf("sent %d", n)
		}
		got := 0
		deadline := time.Now().Add(5 * time.Second)
		for got < 2 && time.Now().Before(deadline) {
			n := srv.Recv(bufs[got:], lens[got:])
			if n == 0 {
				srv.Wait(100 * time.Millisecond) // the client signals: the server unmasked
			}
			got += n
		}
		for k := range frames {
			if got != 2 || !bytes.Equal(bufs[k][:lens[k]], frames[k]) {
				t.Fatalf("round %d: got %d frames, frame %d %d bytes", round, got, k, lens[k])
			}
		}
		if n := srv.Send(frames); n != 2 {
			t.Fatalf("echo sent %d", n)
		}
		got = 0
		for got < 2 && time.Now().Before(deadline) {
			if n := cli.Recv(bufs[got:], lens[got:]); n > 0 {
				got += n
			} else {
				cli.Wait(100 * time.Millisecond)
			}
		}
		if got != 2 {
			t.Fatalf("round %d: echo: got %d", round, got)
		}
	}
}
