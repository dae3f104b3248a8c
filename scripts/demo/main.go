// Command demo runs the Scratch page as it runs against a deployed stack,
// with no AWS account: a Cognito user pool in moto_server, the API (the
// built binary given with -api, on the embedded store) with AUTH=iam on
// 127.0.0.1:3000, and the page on 127.0.0.1:5173, another origin, so that
// every call is a signed CORS call. It makes a confirmed demo user and
// prints how to sign in. `make demo` runs it; Ctrl-C stops everything.
//
// With -signin=false it serves the page with no sign-in instead, against
// the API's local identities (what `make run` serves).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/scratch-notes/notes-api/internal/localpool"
	"github.com/scratch-notes/notes-api/web"
)

// The demo user's sign-in.
const (
	demoEmail    = "demo@example.com"
	demoPassword = "Scratch-demo-1"
)

func main() {
	bin := flag.String("api", "bin/notes-api", "the built API binary")
	apiPort := flag.Int("api-port", 3000, "the API's port on 127.0.0.1")
	webPort := flag.Int("web-port", 5173, "the page's port on 127.0.0.1")
	poolPort := flag.Int("pool-port", 9229, "the user pool's (moto_server's) port on 127.0.0.1")
	signin := flag.Bool("signin", true, "sign users in with a local Cognito user pool (AUTH=iam)")
	flag.Parse()
	if err := run(*bin, *apiPort, *webPort, *poolPort, *signin); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// start runs a process until ctx ends, and tells done when it stops.
func start(name string, args []string, env []string) (*exec.Cmd, chan error, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, done, nil
}

// waitPort waits until something listens on addr, or the process of
// done stops (whose error it leaves in done).
func waitPort(addr string, done chan error) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("it stopped: %v", err)
		default:
		}
	}
	return errors.New("it did not listen within 30 s")
}

func run(bin string, apiPort, webPort, poolPort int, signin bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	page := "http://127.0.0.1:" + strconv.Itoa(webPort)
	api := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	config := web.Config{APIURL: api}
	env := []string{"PORT=" + strconv.Itoa(apiPort), "CORS_ALLOWED_ORIGINS=" + page}

	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	if signin {
		moto, err := exec.LookPath("moto_server")
		if err != nil {
			return errors.New("moto_server is not installed: it serves the local user pool (run with -signin=false for no sign-in)")
		}
		addr := "127.0.0.1:" + strconv.Itoa(poolPort)
		cmd, done, err := start(moto, []string{"-H", "127.0.0.1", "-p", strconv.Itoa(poolPort)}, nil)
		if err != nil {
			return fmt.Errorf("start moto_server: %w", err)
		}
		stops = append(stops, func() { cmd.Process.Signal(syscall.SIGTERM); <-done })
		if err := waitPort(addr, done); err != nil {
			return fmt.Errorf("moto_server on %s: %w", addr, err)
		}
		pool, err := localpool.New(ctx, "http://"+addr, "us-east-1", "scratch-demo")
		if err != nil {
			return err
		}
		if err := pool.AddUser(ctx, demoEmail, demoPassword); err != nil {
			return err
		}
		env = append(env, pool.Env()...)
		config = web.Config{Region: pool.Region, APIURL: api, UserPoolID: pool.ID, UserPoolClientID: pool.ClientID,
			IdentityPoolID: pool.IdentityPoolID, UserPoolEndpoint: pool.Endpoint, IdentityEndpoint: api}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(webPort))
	if err != nil {
		return fmt.Errorf("the page's port: %w", err)
	}
	srv := &http.Server{Handler: web.Handler(web.Dir(), config), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	stops = append(stops, func() { srv.Close() })

	cmd, done, err := start(bin, nil, env)
	if err != nil {
		return fmt.Errorf("start the API (%s): %w", bin, err)
	}
	stops = append(stops, func() { cmd.Process.Signal(syscall.SIGTERM); <-done })
	if err := waitPort("127.0.0.1:"+strconv.Itoa(apiPort), done); err != nil {
		return fmt.Errorf("the API: %w", err)
	}

	fmt.Printf("the page: %s/\n", page)
	if signin {
		fmt.Printf("sign in as %s with the password %s, or create an account (the local pool takes any confirmation code)\n",
			demoEmail, demoPassword)
		fmt.Printf("the user pool: %s (moto_server), %s; every API call is signed (AUTH=iam)\n", config.UserPoolEndpoint, config.UserPoolID)
	}
	fmt.Printf("the API:  %s (its OpenAPI document: %s/openapi.json)\nCtrl-C stops everything.\n", api, api)
	select {
	case err := <-done:
		return fmt.Errorf("the API stopped: %v", err)
	case <-ctx.Done():
		return nil
	}
}
