package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"sync"

	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
)

// The in-graph mode (-mode ingraph): a minimal HTTP/1.1 keep-alive
// responder on vecnet's in-graph TCP API (tcpnode.TCP.Handle), run to
// completion on the worker as Seastar's httpd is: a request is parsed in
// place in the connection's receive buffer and its response written into
// the send buffer from the same callback, with no goroutine and no
// allocation per request. It serves the routes newHandler does (GET /,
// GET /bytes/N, POST /sha256 with a Content-Length body), pipelined
// requests in order, "Connection: close" and HTTP/1.0 by closing after
// the response; anything else gets an error status.

// maxHead bounds a request's line and headers.
const maxHead = 8 << 10

// inGraphApp is the tcpnode.Handler of the in-graph mode. It holds no
// state of its own (the callbacks run on every worker): each connection's
// is its httpConn.
type inGraphApp struct{}

// httpConn is one connection's state.
type httpConn struct {
	out        []byte    // unsent part of buf: a response's head (and a short body)
	body       int       // GET /bytes/N body bytes still to send
	bodyOff    int       // offset in pattern of the next body byte
	closeAfter bool      // close once the response is out
	posting    bool      // POST /sha256 body being hashed
	postLeft   int       // body bytes of it still to come
	h          hash.Hash // SHA-256 of a body (reused)
	sum        [sha256.Size]byte
	buf        [1024]byte
}

// httpConns recycles the connections' state: with a new connection per
// request, allocating it (and a SHA-256) for each would make most of the
// responder's garbage.
var httpConns = sync.Pool{New: func() any { return &httpConn{h: sha256.New()} }}

// OnAccept implements tcpnode.Handler.
func (inGraphApp) OnAccept(c *tcpnode.GraphConn) {
	hc := httpConns.Get().(*httpConn)
	h := hc.h
	*hc = httpConn{h: h}
	c.SetUser(hc)
}

// OnClose implements tcpnode.Handler.
func (inGraphApp) OnClose(c *tcpnode.GraphConn, err error) {
	if hc, ok := c.User().(*httpConn); ok {
		c.SetUser(nil)
		hc.out = nil
		httpConns.Put(hc)
	}
}

// OnWritable implements tcpnode.Handler: go on with a response that did
// not fit (requests after it are offered again by OnData).
func (inGraphApp) OnWritable(c *tcpnode.GraphConn) {
	if hc, ok := c.User().(*httpConn); ok {
		hc.push(c)
	}
}

// busy reports whether a response is still being sent.
func (hc *httpConn) busy() bool { return len(hc.out) > 0 || hc.body > 0 }

// push writes what the response still has to send; at its end it closes
// the connection if asked to. It reports whether all is out.
func (hc *httpConn) push(c *tcpnode.GraphConn) bool {
	for len(hc.out) > 0 {
		n, err := c.Write(hc.out)
		hc.out = hc.out[n:]
		if err != nil {
			return false
		}
	}
	for hc.body > 0 {
		k := min(hc.body, len(pattern)-hc.bodyOff)
		n, err := c.Write(pattern[hc.bodyOff : hc.bodyOff+k])
		hc.body -= n
		hc.bodyOff = (hc.bodyOff + n) % len(pattern)
		if err != nil {
			return false
		}
	}
	if hc.closeAfter {
		c.Close()
	}
	return true
}

// OnData implements tcpnode.Handler: it answers every complete request in
// data, in order, and returns the bytes they took.
func (inGraphApp) OnData(c *tcpnode.GraphConn, data []byte) int {
	hc, ok := c.User().(*httpConn)
	if !ok {
		return len(data)
	}
	if len(data) == 0 { // the client ended its stream
		if hc.busy() {
			hc.closeAfter = true
		} else {
			c.Close()
		}
		return 0
	}
	used := 0
	for used < len(data) {
		if hc.busy() {
			return used
		}
		if hc.closeAfter { // after a closing response, the rest is ignored
			return len(data)
		}
		rest := data[used:]
		if hc.posting {
			k := min(hc.postLeft, len(rest))
			hc.h.Write(rest[:k])
			used += k
			if hc.postLeft -= k; hc.postLeft > 0 {
				return used
			}
			hc.posting = false
			var line [sha256.Size*2 + 1]byte
			hex.Encode(line[:], hc.h.Sum(hc.sum[:0]))
			line[len(line)-1] = '\n'
			hc.respond(c, 200, "OK", line[:], 0, false)
			continue
		}
		end := bytes.Index(rest, crlfcrlf)
		if end < 0 {
			if len(rest) > maxHead {
				hc.closeAfter = true
				hc.respond(c, 431, "Request Header Fields Too Large", nil, 0, false)
				return len(data)
			}
			return used
		}
		used += end + 4
		hc.request(c, rest[:end+2])
	}
	return used
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	hello    = []byte("hello from httpserver\n")

	continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")
)

// request answers one request; head is its line and header lines, each
// ending in CRLF.
func (hc *httpConn) request(c *tcpnode.GraphConn, head []byte) {
	k := bytes.Index(head, crlf)
	line, hdrs := head[:k], head[k+2:]
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		hc.closeAfter = true
		hc.respond(c, 400, "Bad Request", nil, 0, false)
		return
	}
	method, target, version := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	switch string(version) { // no allocation: compared, not converted
	case "HTTP/1.1":
	case "HTTP/1.0":
		hc.closeAfter = true
	default:
		hc.closeAfter = true
		hc.respond(c, 505, "HTTP Version Not Supported", nil, 0, false)
		return
	}
	clen, chunked, expect := -1, false, false
	for len(hdrs) > 0 {
		k := bytes.Index(hdrs, crlf)
		h := hdrs[:k]
		hdrs = hdrs[k+2:]
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			continue
		}
		// The names that matter differ in length: the length picks the one
		// to compare, and the other headers (Host, User-Agent, Accept...)
		// cost a length test, not four case-folding compares and a trim.
		name, val := h[:colon], h[colon+1:]
		switch len(name) {
		case len("content-length"):
			if !bytes.EqualFold(name, []byte("content-length")) {
				break
			}
			n, ok := parseSize(bytes.TrimSpace(val))
			if !ok {
				hc.closeAfter = true
				hc.respond(c, 400, "Bad Request", nil, 0, false)
				return
			}
			clen = n
		case len("transfer-encoding"):
			if bytes.EqualFold(name, []byte("transfer-encoding")) {
				chunked = true
			}
		case len("expect"):
			if bytes.EqualFold(name, []byte("expect")) && bytes.EqualFold(bytes.TrimSpace(val), []byte("100-continue")) {
				expect = true
			}
		case len("connection"):
			if bytes.EqualFold(name, []byte("connection")) && bytes.EqualFold(bytes.TrimSpace(val), []byte("close")) {
				hc.closeAfter = true
			}
		}
	}
	if chunked { // not handled: the body's end cannot be found
		hc.closeAfter = true
		hc.respond(c, 501, "Not Implemented", nil, 0, false)
		return
	}
	switch {
	case string(method) == "GET" && string(target) == "/":
		hc.respond(c, 200, "OK", hello, 0, false)
	case string(method) == "GET" && bytes.HasPrefix(target, []byte("/bytes/")):
		n, ok := parseSize(target[len("/bytes/"):])
		if !ok || n > maxBytes {
			hc.respond(c, 400, "Bad Request", []byte("bad length\n"), 0, false)
			return
		}
		hc.h.Reset()
		for left := n; left > 0; left -= min(left, len(pattern)) {
			hc.h.Write(pattern[:min(left, len(pattern))])
		}
		hc.respond(c, 200, "OK", nil, n, true)
	case string(method) == "POST" && string(target) == "/sha256":
		if clen < 0 {
			hc.closeAfter = true
			hc.respond(c, 411, "Length Required", nil, 0, false)
			return
		}
		if expect && clen > 0 { // the client waits for this before sending the body
			c.Write(continue100) // no response is in progress (busy), so it is next on the wire
		}
		hc.h.Reset()
		hc.posting, hc.postLeft = true, clen
		if clen == 0 {
			var line [sha256.Size*2 + 1]byte
			hex.Encode(line[:], hc.h.Sum(hc.sum[:0]))
			line[len(line)-1] = '\n'
			hc.posting = false
			hc.respond(c, 200, "OK", line[:], 0, false)
		}
	case string(method) != "GET" && string(method) != "POST":
		if clen > 0 { // the body would be taken for the next request
			hc.closeAfter = true
		}
		hc.respond(c, 405, "Method Not Allowed", nil, 0, false)
	default:
		if clen > 0 {
			hc.closeAfter = true
		}
		hc.respond(c, 404, "Not Found", []byte("404 page not found\n"), 0, false)
	}
}

// respond builds a response in hc.buf, small body included, with n more
// body bytes of pattern after it (a GET /bytes/N; with its X-Sha256 from
// hc.h when withSum), and starts sending it.
func (hc *httpConn) respond(c *tcpnode.GraphConn, code int, reason string, small []byte, n int, withSum bool) {
	b := append(hc.buf[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	if withSum {
		b = append(b, "\r\nContent-Type: application/octet-stream\r\nX-Sha256: "...)
		sum := hc.h.Sum(hc.sum[:0])
		b = b[:len(b)+hex.EncodedLen(len(sum))]
		hex.Encode(b[len(b)-hex.EncodedLen(len(sum)):], sum)
	} else {
		b = append(b, "\r\nContent-Type: text/plain; charset=utf-8"...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(small)+n), 10)
	if hc.closeAfter {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, small...)
	hc.out, hc.body, hc.bodyOff = b, n, 0
	hc.push(c)
}

// parseSize parses a decimal size (digits only, at most 10 of them).
func parseSize(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}
