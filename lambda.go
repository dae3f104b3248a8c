//go:build lambda

package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/scratch-notes/notes-api/routes"
)

// loadAWS is the one AWS configuration every client is built from, made
// from the variables Lambda (and sam local) set: AWS_REGION and the
// function's credentials. The SDK's config package would read the same
// and also link and initialise its whole credential chain (SSO, STS,
// shared files), which costs the cold start milliseconds for nothing a
// Lambda has; the endpoint variables are read in loadConfig.
func loadAWS(_ context.Context, getenv func(string) string) (aws.Config, error) {
	cfg := aws.Config{Region: getenv("AWS_REGION")}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))
	} else {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID is not set: no credentials in the environment")
	}
	return cfg, nil
}

// localFiles: the Lambda build keeps no files itself.
func localFiles(config, *slog.Logger) (routes.Files, func(), error) {
	return nil, func() {}, nil
}

// signIn: the Lambda build has API Gateway in front of it (AUTH=iam is
// refused there).
func signIn(_ config, api http.Handler, _ *slog.Logger) (http.Handler, error) { return api, nil }
