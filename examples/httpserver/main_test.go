package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestKernelMode serves the routes on the kernel's TCP (loopback) and
// checks each: the baseline the vecnet mode is compared with.
func TestKernelMode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, config{mode: "kernel", listen: "127.0.0.1:0", ready: func(a net.Addr) { addrc <- a }})
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-errc:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		r, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return r, b
	}
	if _, b := get("/"); string(b) != "hello from httpserver\n" {
		t.Errorf("GET / = %q", b)
	}
	r, b := get("/bytes/200000")
	want := sha256.Sum256(Bytes(200000))
	if sha256.Sum256(b) != want || r.Header.Get("X-Sha256") != hex.EncodeToString(want[:]) {
		t.Errorf("GET /bytes: %d bytes, X-Sha256 %q", len(b), r.Header.Get("X-Sha256"))
	}
	if r, _ := get("/bytes/-1"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /bytes/-1: %s", r.Status)
	}
	pr, err := c.Post(base+"/sha256", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(pr.Body)
	pr.Body.Close()
	if strings.TrimSpace(string(pb)) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("POST /sha256 = %q", pb)
	}
}
