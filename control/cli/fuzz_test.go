package cli

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzReadFrame feeds arbitrary bytes to the client's frame reader: every
// frame it accepts must re-encode to exactly the bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("O\x00\x00\x00\x02hiK\x00\x00\x00\x00")) // output then OK
	f.Add([]byte("E\x00\x00\x00\x04oops"))                // an error
	f.Add([]byte("X\x00\x00\x00\x00"))                    // unknown type
	f.Add([]byte("O\xff\xff\xff\xff"))                    // huge length
	f.Add([]byte("O\x00\x00\x00\x05ab"))                  // truncated
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		consumed := 0
		for {
			typ, b, err := readFrame(r, nil)
			if err != nil {
				return
			}
			var enc bytes.Buffer
			w := bufio.NewWriter(&enc)
			writeFrame(w, typ, b)
			w.Flush()
			if !bytes.Equal(enc.Bytes(), data[consumed:consumed+enc.Len()]) {
				t.Fatalf("frame at %d re-encodes to %x", consumed, enc.Bytes())
			}
			consumed += enc.Len()
		}
	})
}

// FuzzExec runs arbitrary lines against a registry: nothing panics, an
// error is the command's own or wraps a sentinel, and a success ran the
// command whose path the line's leading words abbreviate.
func FuzzExec(f *testing.F) {
	for _, s := range []string{"sh run", "show", "ip r a 1 via 2", "?", "help sh", "s", "show ?", "fail", "x y z", "\t\n"} {
		f.Add(s)
	}
	r := testRegistry(f)
	f.Fuzz(func(t *testing.T, line string) {
		var b bytes.Buffer
		err := r.Exec(&b, line)
		words := strings.Fields(line)
		if err != nil {
			if !errors.Is(err, ErrUnknownCommand) && !errors.Is(err, ErrAmbiguousCommand) && err.Error() != "it failed" {
				t.Fatalf("Exec(%q): unexpected error %v", line, err)
			}
			return
		}
		if len(words) == 0 || words[0] == "help" || words[0] == "?" || words[len(words)-1] == "?" {
			return
		}
		// The output starts with the path run; each of its words must be
		// abbreviated by the line's word at the same place.
		path := b.String()[:strings.Index(b.String(), " [")]
		for i, pw := range strings.Fields(path) {
			if i >= len(words) || !strings.HasPrefix(pw, words[i]) {
				t.Fatalf("Exec(%q) ran %q", line, path)
			}
		}
	})
}
