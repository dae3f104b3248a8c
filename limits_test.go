package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLocalServerLimits holds the local server (the built binary) to its
// limits, on loopback: oversized headers are refused, a client that
// trickles its headers is cut off, and hundreds of clients that connect
// and send nothing do not keep others from being served.
func TestLocalServerLimits(t *testing.T) {
	base, _ := startBinary(t)
	addr := strings.TrimPrefix(base, "http://")

	t.Run("headers over the limit", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/notes", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", maxHeaderBytes+4096))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status = %d, want 431", resp.StatusCode)
		}
	})

	t.Run("headers trickled", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprintf(conn, "GET /notes HTTP/1.1\r\nHost: %s\r\n", addr)
		closed := make(chan time.Duration, 1)
		go func() {
			io.Copy(io.Discard, conn) // returns when the server closes
			closed <- time.Since(start)
		}()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case took := <-closed:
				if took < readHeaderTimeout-time.Second || took > readHeaderTimeout+2*time.Second {
					t.Fatalf("cut off after %v, want about %v", took, readHeaderTimeout)
				}
				return
			case <-tick.C:
				fmt.Fprintf(conn, "X-Slow-%d: x\r\n", i)
			case <-time.After(3 * readHeaderTimeout):
				t.Fatal("a client trickling headers was never cut off")
			}
		}
	})

	t.Run("idle connections", func(t *testing.T) {
		var idle []net.Conn
		defer func() {
			for _, c := range idle {
				c.Close()
			}
		}()
		for range 300 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, c)
		}
		client := &http.Client{Timeout: 3 * time.Second}
		for range 20 {
			resp, err := client.Get(base + "/notes")
			if err != nil {
				t.Fatalf("with 300 idle connections open: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
		}
		// The idle ones are still open: nothing shed them to serve others.
		idle[0].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := bufio.NewReader(idle[0]).ReadByte(); err == io.EOF {
			t.Fatal("an idle connection was closed before its time")
		}
	})
}
