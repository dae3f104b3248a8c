// Command demo runs the web page of web/ on one origin next to the API on
// another, so that every call the page makes is a real CORS call: the API
// (the built binary given with -api, on the embedded store) on
// 127.0.0.1:3000 allowing the page's origin, and the page on
// 127.0.0.1:5173. `make demo` runs it; Ctrl-C stops both.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("api", "bin/notes-api", "the built API binary")
	apiPort := flag.Int("api-port", 3000, "the API's port on 127.0.0.1")
	webPort := flag.Int("web-port", 5173, "the page's port on 127.0.0.1")
	flag.Parse()
	if err := run(*bin, *apiPort, *webPort); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(bin string, apiPort, webPort int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, file, _, _ := runtime.Caller(0)
	web := filepath.Join(filepath.Dir(file), "..", "..", "web")
	if _, err := os.Stat(filepath.Join(web, "index.html")); err != nil {
		web = "web" // built with -trimpath: run from the checkout
	}
	page := "http://127.0.0.1:" + strconv.Itoa(webPort)
	api := "http://127.0.0.1:" + strconv.Itoa(apiPort)

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(webPort))
	if err != nil {
		return fmt.Errorf("the page's port: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(web)), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(apiPort), "CORS_ALLOWED_ORIGINS="+page)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the API (%s): %w", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	fmt.Printf("the page: %s/?api=%s\nthe API:  %s (its OpenAPI document: %s/openapi.json)\nCtrl-C stops both.\n", page, api, api, api)
	select {
	case err := <-done:
		return fmt.Errorf("the API stopped: %w", err)
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		return nil
	}
}
