// Command notes-api serves the notes API: as an AWS Lambda function behind
// API Gateway when AWS_LAMBDA_RUNTIME_API is set, otherwise as a local
// HTTP server on 127.0.0.1. Configuration comes from the environment, read
// here and nowhere else.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/secrets"
	"github.com/scratch-notes/notes-api/store"
)

// notesStore is what main opens: the notes, and what was paid for beside
// them.
type notesStore interface {
	routes.NoteStore
	routes.PurchaseStore
}

var (
	_ notesStore = (*store.Bolt)(nil)
	_ notesStore = (*store.Dynamo)(nil)
)

func main() {
	log := newLogger(os.Stdout, cmp.Or(os.Getenv("LOG_LEVEL"), os.Getenv("AWS_LAMBDA_LOG_LEVEL")))
	if len(os.Args) > 1 {
		// One command: record the Stripe events the webhook missed, once.
		if os.Args[1] != "reconcile" || len(os.Args) > 2 {
			log.Error("usage: notes-api [reconcile]: with no argument it serves the API; reconcile records the Stripe events of the last three days the webhook missed, and exits")
			os.Exit(2)
		}
		if err := reconcile(os.Getenv, log); err != nil {
			log.Error("notes-api reconcile failed: " + err.Error())
			os.Exit(1)
		}
		return
	}
	if err := run(os.Getenv, log); err != nil {
		log.Error("notes-api cannot start: " + err.Error())
		os.Exit(1)
	}
}

// newLogger writes every line as one JSON object in Lambda's JSON log
// format (timestamp, level, message; under Lambda its requestId and the
// trace id too), locally and deployed alike, at level and above (INFO
// when empty or unknown). The level is LOG_LEVEL, which the template sets
// from its LogLevel, else AWS_LAMBDA_LOG_LEVEL: the binary filters its
// own lines, so that Lambda's filter (ApplicationLogLevel, kept at INFO
// or below) never drops a metric line; see metricsOf.
func newLogger(w io.Writer, level string) *slog.Logger {
	// logLevels and this map name the same levels: Lambda's.
	lvl := map[string]slog.Level{"TRACE": slog.LevelDebug - 4, "DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo,
		"WARN": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError + 4}[strings.ToUpper(level)]
	all := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug - 4, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(levelHandler{min: lvl, Handler: gateway.LogHandler(all)})
}

// logLevels are Lambda's log levels, lowest first.
var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// levelHandler drops the records below min; the handler it wraps writes
// every level.
type levelHandler struct {
	min slog.Level
	slog.Handler
}

// Enabled implements slog.Handler.
func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs implements slog.Handler.
func (h levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{h.min, h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.min, h.Handler.WithGroup(name)}
}

// metricsOf is newLogger's log without its level: where the metric lines
// (INFO, Embedded Metric Format) go whatever the log level, since an
// alarm watches them.
func metricsOf(log *slog.Logger) *slog.Logger {
	if h, ok := log.Handler().(levelHandler); ok {
		return slog.New(h.Handler)
	}
	return log
}

// config is the environment, parsed and checked.
type config struct {
	lambda      bool // AWS_LAMBDA_RUNTIME_API is set
	samLocal    bool // AWS_SAM_LOCAL=true: sam local, dev identities apply
	port        int
	notesDB     string
	notesTable  string
	purchases   string // PURCHASES_TABLE, with NOTES_TABLE
	bucket      string // ATTACHMENTS_BUCKET; empty: local files, or none under Lambda
	devIdentity string
	cors        origins.Policy
	stripeKey   string
	webhookKey  string // STRIPE_WEBHOOK_SECRET
	stripeARN   string // STRIPE_SECRET_ARN: the keys are read from Secrets Manager
	stripeBase  string // empty: Stripe's own API
	freeNotes   *int64 // FREE_NOTES; nil: no limit
	// AUTH=iam: signed calls only, as deployed, with credentials from the
	// server's own Cognito Identity endpoint for users of this pool.
	iam iamConfig
	// The AWS SDK's endpoint variables, honoured however the AWS
	// configuration is built: the service's own, else AWS_ENDPOINT_URL.
	dynamoEndpoint, s3Endpoint, secretsEndpoint string
}

// iamConfig is AUTH=iam's user pool and identity pool.
type iamConfig struct {
	on                                 bool
	region                             string // AWS_REGION, us-east-1 by default
	poolEndpoint, poolID, clientID, id string
}

// loadIAM reads AUTH and, with AUTH=iam, the pools it needs.
func loadIAM(getenv func(string) string, lambda bool) (iamConfig, error) {
	switch v := getenv("AUTH"); v {
	case "":
		return iamConfig{}, nil
	case "iam":
		if lambda {
			return iamConfig{}, errors.New("AUTH=iam is for the local server: deployed, API Gateway checks every signature (unset AUTH)")
		}
	default:
		return iamConfig{}, fmt.Errorf("AUTH=%q: want iam (signed calls only, as deployed), or unset (local identities)", v)
	}
	c := iamConfig{on: true, region: cmp.Or(getenv("AWS_REGION"), "us-east-1"), poolEndpoint: getenv("USER_POOL_ENDPOINT"),
		poolID: getenv("USER_POOL_ID"), clientID: getenv("USER_POOL_CLIENT_ID"), id: getenv("IDENTITY_POOL_ID")}
	for _, v := range []struct{ name, value string }{{"USER_POOL_ENDPOINT", c.poolEndpoint}, {"USER_POOL_ID", c.poolID},
		{"USER_POOL_CLIENT_ID", c.clientID}, {"IDENTITY_POOL_ID", c.id}} {
		if v.value == "" {
			return c, fmt.Errorf("AUTH=iam needs %s: `make demo` sets up a local user pool and prints them all", v.name)
		}
	}
	if err := checkURL("USER_POOL_ENDPOINT", c.poolEndpoint); err != nil {
		return c, err
	}
	if !strings.HasPrefix(c.poolID, c.region+"_") {
		return c, fmt.Errorf("USER_POOL_ID=%q: want a pool of AWS_REGION %s (%s_...)", c.poolID, c.region, c.region)
	}
	if !strings.HasPrefix(c.id, c.region+":") {
		return c, fmt.Errorf("IDENTITY_POOL_ID=%q: want an identity pool id of AWS_REGION %s (%s:...)", c.id, c.region, c.region)
	}
	return c, nil
}

// loadConfig reads the environment through getenv. A bad value is an error
// that names its variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		lambda:      getenv("AWS_LAMBDA_RUNTIME_API") != "",
		port:        3000,
		notesDB:     getenv("NOTES_DB"),
		notesTable:  getenv("NOTES_TABLE"),
		purchases:   getenv("PURCHASES_TABLE"),
		bucket:      getenv("ATTACHMENTS_BUCKET"),
		devIdentity: getenv("DEV_IDENTITY_ID"),
		stripeKey:   getenv("STRIPE_SECRET_KEY"),
		webhookKey:  getenv("STRIPE_WEBHOOK_SECRET"),
		stripeARN:   getenv("STRIPE_SECRET_ARN"),
		stripeBase:  getenv("STRIPE_API_BASE"),
		cors:        origins.Policy{MaxAge: 600},
	}
	for _, e := range []struct {
		dst *string
		env string
	}{{&c.dynamoEndpoint, "AWS_ENDPOINT_URL_DYNAMODB"}, {&c.s3Endpoint, "AWS_ENDPOINT_URL_S3"},
		{&c.secretsEndpoint, "AWS_ENDPOINT_URL_SECRETS_MANAGER"}} {
		name := e.env
		if *e.dst = getenv(name); *e.dst == "" {
			name = "AWS_ENDPOINT_URL"
			*e.dst = getenv(name)
		}
		if err := checkURL(name, *e.dst); err != nil {
			return c, err
		}
	}
	var err error
	if c.samLocal, err = parseBool(getenv, "AWS_SAM_LOCAL", false); err != nil {
		return c, err
	}
	if c.cors.AllowCredentials, err = parseBool(getenv, "CORS_ALLOW_CREDENTIALS", false); err != nil {
		return c, err
	}
	if v := getenv("PORT"); v != "" {
		if c.port, err = strconv.Atoi(v); err != nil || c.port < 1 || c.port > 65535 {
			return c, fmt.Errorf("PORT=%q: want a port number from 1 to 65535", v)
		}
	}
	if v := getenv("CORS_MAX_AGE"); v != "" {
		if c.cors.MaxAge, err = strconv.Atoi(v); err != nil || c.cors.MaxAge < 0 {
			return c, fmt.Errorf("CORS_MAX_AGE=%q: want a whole number of seconds, 0 or more", v)
		}
	}
	if v := getenv("CORS_ALLOWED_ORIGINS"); v != "" {
		if c.cors.AllowedOrigins, err = origins.Parse(v); err != nil {
			return c, fmt.Errorf("CORS_ALLOWED_ORIGINS: %w", err)
		}
	}
	if err := c.cors.Validate(); errors.Is(err, origins.ErrCredentialsWithWildcard) {
		return c, fmt.Errorf("CORS_ALLOW_CREDENTIALS=true with CORS_ALLOWED_ORIGINS=%q: %w", strings.Join(c.cors.AllowedOrigins, ","), err)
	} else if err != nil {
		return c, fmt.Errorf("CORS_ALLOWED_ORIGINS: %w", err)
	}
	if c.stripeKey != "" && c.stripeARN != "" {
		return c, errors.New("STRIPE_SECRET_KEY and STRIPE_SECRET_ARN are both set: set the key for local use, or the secret's ARN, not both")
	}
	if c.webhookKey != "" && c.stripeARN != "" {
		return c, errors.New(`STRIPE_WEBHOOK_SECRET and STRIPE_SECRET_ARN are both set: with the ARN, the webhook's signing secret is in the secret too ({"secretKey": ..., "webhookSecret": ...})`)
	}
	if (c.notesTable == "") != (c.purchases == "") {
		return c, fmt.Errorf("NOTES_TABLE=%q and PURCHASES_TABLE=%q: set both tables (the DynamoDB store), or neither (the embedded store)", c.notesTable, c.purchases)
	}
	if err := checkURL("STRIPE_API_BASE", c.stripeBase); err != nil {
		return c, err
	}
	if c.iam, err = loadIAM(getenv, c.lambda); err != nil {
		return c, err
	}
	if v := getenv("LOG_LEVEL"); v != "" && !slices.Contains(logLevels, strings.ToUpper(v)) {
		return c, fmt.Errorf("LOG_LEVEL=%q: want one of %s", v, strings.Join(logLevels, ", "))
	}
	if v := getenv("FREE_NOTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return c, fmt.Errorf("FREE_NOTES=%q: want a whole number of notes, 0 or more (unset: no limit)", v)
		}
		c.freeNotes = &n
	}
	if c.notesDB == "" {
		c.notesDB = "notes.db"
		if c.lambda {
			c.notesDB = "/tmp/notes.db" // the only writable place in Lambda
		}
	}
	return c, nil
}

// checkURL refuses a value of the variable name that is set but is not an
// http(s) URL with a host.
func checkURL(name, v string) error {
	if v == "" {
		return nil
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s=%q: want an http(s) URL such as http://127.0.0.1:8000", name, v)
	}
	return nil
}

func parseBool(getenv func(string) string, name string, def bool) (bool, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// boltError says what a refused NOTES_DB is and what to do about it.
func boltError(path string, err error) error {
	switch {
	case errors.Is(err, store.ErrLocked):
		return fmt.Errorf("NOTES_DB=%s is in use by another process (is another notes-api running?)", path)
	case errors.Is(err, store.ErrUnwritable):
		return fmt.Errorf("NOTES_DB=%s cannot be opened or created (%v): set NOTES_DB to a file in a directory you can write", path, err)
	case errors.Is(err, store.ErrFormat):
		return fmt.Errorf("NOTES_DB=%s was written by a newer version (%v): run that version, or set NOTES_DB to another file; it was not changed", path, err)
	case errors.Is(err, store.ErrNotNotes):
		return fmt.Errorf("NOTES_DB=%s is not a notes database (%v): move it away or set NOTES_DB to another file; it was not changed", path, err)
	}
	return fmt.Errorf("NOTES_DB=%s: %w", path, err)
}

// newBiller returns the Stripe biller: with STRIPE_SECRET_KEY and
// STRIPE_WEBHOOK_SECRET, or with the keys in the Secrets Manager secret
// STRIPE_SECRET_ARN, read at the first call (never at start-up) and kept;
// nil when none is set.
func newBiller(c config, awsCfg func() (aws.Config, error)) routes.Biller {
	switch {
	case c.stripeARN != "":
		keys := func(ctx context.Context) (billing.Keys, error) {
			cfg, err := awsCfg()
			if err != nil {
				return billing.Keys{}, fmt.Errorf("STRIPE_SECRET_ARN: %w: %w", err, billing.ErrNoKey)
			}
			s, err := secrets.New(cfg, c.secretsEndpoint).SecretString(ctx, c.stripeARN)
			if errors.Is(err, secrets.ErrUnavailable) {
				return billing.Keys{}, fmt.Errorf("%w: %w", err, billing.ErrNoKey)
			}
			if err != nil {
				return billing.Keys{}, err
			}
			k, err := billing.ParseSecret(s)
			if err != nil {
				return billing.Keys{}, fmt.Errorf("STRIPE_SECRET_ARN %s: %w", c.stripeARN, err)
			}
			return k, nil
		}
		return billing.New(billing.Config{Keys: keys, APIBase: c.stripeBase})
	case c.stripeKey != "" || c.webhookKey != "":
		return billing.New(billing.Config{Keys: billing.StaticKeys(billing.Keys{Secret: c.stripeKey, Webhook: c.webhookKey}),
			APIBase: c.stripeBase})
	}
	return nil
}

// newHandler builds the API for a configuration.
func newHandler(c config, notes notesStore, files routes.Files, biller routes.Biller, log *slog.Logger) (http.Handler, error) {
	mode := routes.IdentityLocal
	if (c.lambda && !c.samLocal) || c.iam.on {
		// AUTH=iam: the local gateway (iamauth) hands over the identity,
		// as API Gateway does deployed.
		mode = routes.IdentityDeployed
	}
	if c.lambda && c.samLocal {
		// Only sam local sets it: deployed, it would let anyone be anyone.
		log.Warn("AWS_SAM_LOCAL=true: LOCAL IDENTITY RULES ARE ON: a request without a Cognito identity acts as X-Dev-Identity-Id or DEV_IDENTITY_ID; this must never happen deployed")
	}
	h, err := routes.New(routes.Config{
		Notes:          notes,
		Purchases:      notes,
		Billing:        biller,
		Files:          files,
		Logger:         log,
		Metrics:        metricsOf(log),
		CORS:           c.cors,
		Identity:       mode,
		DevIdentity:    c.devIdentity,
		MaxAnswerBytes: gateway.MaxResponseBytes,
		FreeNotes:      c.freeNotes,
	})
	return h, err
}

// openStore returns the DynamoDB store when NOTES_TABLE is set, else the
// embedded one, and what closes it. awsCfg is called only when the store
// needs it.
func openStore(c config, awsCfg func() (aws.Config, error)) (notesStore, func() error, error) {
	if c.notesTable == "" {
		s, err := store.OpenBolt(c.notesDB)
		if err != nil {
			return nil, nil, boltError(c.notesDB, err)
		}
		return s, s.Close, nil
	}
	cfg, err := awsCfg()
	if err != nil {
		return nil, nil, fmt.Errorf("NOTES_TABLE=%s: %w", c.notesTable, err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if c.dynamoEndpoint != "" {
			o.BaseEndpoint = aws.String(c.dynamoEndpoint)
		}
	})
	return store.NewDynamo(client, c.notesTable, c.purchases), func() error { return nil }, nil
}

// openFiles returns the attachments bucket when ATTACHMENTS_BUCKET is set.
// Otherwise the local server keeps files itself, behind an S3-compatible
// endpoint on loopback, and under Lambda there are none (nil: the
// attachment endpoints answer 503).
func openFiles(c config, awsCfg func() (aws.Config, error), log *slog.Logger) (routes.Files, func(), error) {
	if c.bucket == "" {
		if c.lambda {
			return nil, func() {}, nil
		}
		return localFiles(c, log)
	}
	cfg, err := awsCfg()
	if err != nil {
		return nil, nil, fmt.Errorf("ATTACHMENTS_BUCKET=%s: %w", c.bucket, err)
	}
	files, err := attachments.NewS3(cfg, c.bucket, c.s3Endpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("ATTACHMENTS_BUCKET=%s: %w", c.bucket, err)
	}
	return files, func() {}, nil
}

// reconcile records, once, the Stripe events the webhook missed into the
// store the configuration names: what the template's schedule does
// deployed.
func reconcile(getenv func(string) string, log *slog.Logger) error {
	c, awsCfg, notes, closeStore, err := open(getenv)
	if err != nil {
		return err
	}
	defer closeStore()
	rc, err := routes.NewReconciler(routes.Config{Billing: newBiller(c, awsCfg), Purchases: notes, Logger: log, Metrics: metricsOf(log)})
	if err != nil {
		return err
	}
	_, err = rc.Run(context.Background())
	return err
}

// open reads the configuration and opens the store it names; the AWS
// configuration is loaded once, on first use, for every AWS client.
func open(getenv func(string) string) (config, func() (aws.Config, error), notesStore, func() error, error) {
	c, err := loadConfig(getenv)
	if err != nil {
		return c, nil, nil, nil, err
	}
	awsCfg := sync.OnceValues(func() (aws.Config, error) { return loadAWS(context.Background(), getenv) })
	notes, closeStore, err := openStore(c, awsCfg)
	return c, awsCfg, notes, closeStore, err
}

func run(getenv func(string) string, log *slog.Logger) error {
	c, awsCfg, notes, closeStore, err := open(getenv)
	if err != nil {
		return err
	}
	files, closeFiles, err := openFiles(c, awsCfg, log)
	if err != nil {
		closeStore()
		return err
	}
	biller := newBiller(c, awsCfg)
	h, err := newHandler(c, notes, files, biller, log)
	if err == nil {
		h, err = signIn(c, h, log)
	}
	if err != nil {
		closeFiles()
		closeStore()
		return err
	}

	if c.lambda {
		// Start never returns, and nothing is closed: Lambda ends the
		// instance with SIGKILL. That loses nothing (every bbolt write is a
		// committed, synced transaction), and asking for a SIGTERM first
		// (lambda.WithEnableSIGTERM) would cost every cold start a
		// registration with the Extensions API before the first event.
		g := gateway.New(h, log)
		rc, err := routes.NewReconciler(routes.Config{Billing: biller, Purchases: notes, Logger: log, Metrics: metricsOf(log)})
		if err != nil {
			return err
		}
		g.OnSchedule(func(ctx context.Context) (any, error) { return rc.Run(ctx) })
		lambda.Start(g)
		return nil
	}
	defer closeStore()
	defer closeFiles()
	return serve(c.port, h, log)
}

// The local server's limits: a client that trickles its headers is cut off
// after readHeaderTimeout, and headers over maxHeaderBytes (API Gateway
// takes 10 KiB a header) are a 431.
const (
	readHeaderTimeout = 5 * time.Second
	maxHeaderBytes    = 64 << 10
)

// newServer is a local server of h with those limits, answering only to
// loopback names: the API's, and the local attachments endpoint's.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           routes.LoopbackOnly(h),
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

// serve runs the local HTTP server until SIGINT or SIGTERM, then lets the
// requests in flight finish.
func serve(port int, h http.Handler, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("PORT=%d: %w", port, err)
	}
	srv := newServer(h)
	log.Info("listening", "addr", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
