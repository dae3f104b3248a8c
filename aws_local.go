//go:build !lambda

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/routes"
)

// loadAWS is the one AWS configuration every client is built from, the
// SDK's own way: the environment, the shared config and credentials
// files, SSO and the rest of its chain, as a developer's machine needs.
// The Lambda build has a lighter one (aws_lambda.go).
func loadAWS(ctx context.Context, _ func(string) string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	return cfg, nil
}

// localBucket names the local server's one bucket.
const localBucket = "attachments"

// localFiles starts the embedded S3-compatible endpoint on a free
// loopback port, keeping files in a directory beside NOTES_DB
// (notes.db: notes-attachments/), wrapped in the API's CORS policy, and
// returns the files the handlers use, signed with a credential made for
// this process. It is not in the Lambda build.
func localFiles(c config, log *slog.Logger) (routes.Files, func(), error) {
	dir := strings.TrimSuffix(c.notesDB, filepath.Ext(c.notesDB)) + "-attachments"
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: rand.Text()}
	local, err := attachments.NewLocal(localBucket, dir, creds)
	if err != nil {
		return nil, nil, fmt.Errorf("NOTES_DB=%s: %w", c.notesDB, err)
	}
	h, err := c.cors.Files(local)
	if err != nil {
		return nil, nil, corsError(c, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("attachments endpoint: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	endpoint := "http://" + ln.Addr().String()
	log.Info("attachments", "endpoint", endpoint, "dir", dir)
	files, err := attachments.NewS3(aws.Config{Region: "us-east-1",
		Credentials: credentials.StaticCredentialsProvider{Value: creds}}, localBucket, endpoint)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return files, func() { srv.Close() }, nil
}
