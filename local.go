//go:build !lambda

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/scratch-notes/notes-api/iamauth"
	"github.com/scratch-notes/notes-api/locals3"
	"github.com/scratch-notes/notes-api/routes"
)

// loadAWS is the one AWS configuration every client is built from, the
// SDK's own way: the environment, the shared config and credentials
// files, SSO and the rest of its chain, as a developer's machine needs.
// The Lambda build has a lighter one (lambda.go).
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

// localFiles starts the embedded S3-compatible endpoint on a free
// loopback port, keeping files in a directory beside NOTES_DB
// (notes.db: notes-attachments/), behind the API's CORS policy and with
// its server's limits. It is not in the Lambda build.
func localFiles(c config, log *slog.Logger) (routes.Files, func(), error) {
	dir := strings.TrimSuffix(c.notesDB, filepath.Ext(c.notesDB)) + "-attachments"
	e, err := locals3.Start(locals3.Config{Dir: dir, Origins: c.cors, Server: newServer, Log: log})
	if err != nil {
		return nil, nil, fmt.Errorf("NOTES_DB=%s: %w", c.notesDB, err)
	}
	log.Info("attachments", "endpoint", e.URL, "dir", dir)
	return e.Files, func() {
		if err := e.Close(); err != nil {
			log.Error("attachments endpoint", "error", err.Error())
		}
	}, nil
}

// signIn puts the local stand-in for API Gateway's AWS_IAM in front of
// the API when AUTH=iam: the server's own address is then a Cognito
// Identity endpoint too, and every other call must be signed with the
// credentials it issues. Each user's identity id is kept beside NOTES_DB
// (notes.db: notes-identities.json). It is not in the Lambda build.
func signIn(c config, api http.Handler, log *slog.Logger) (http.Handler, error) {
	if !c.iam.on {
		return api, nil
	}
	state := strings.TrimSuffix(c.notesDB, filepath.Ext(c.notesDB)) + "-identities.json"
	g, err := iamauth.New(iamauth.Config{Region: c.iam.region, UserPoolEndpoint: c.iam.poolEndpoint, UserPoolID: c.iam.poolID,
		ClientID: c.iam.clientID, IdentityPoolID: c.iam.id, StateFile: state, Origins: c.cors, Log: log})
	if err != nil {
		return nil, fmt.Errorf("AUTH=iam: %w", err)
	}
	log.Info("AUTH=iam: every call but the public ones must be signed; this address is also the Cognito Identity endpoint",
		"userPool", c.iam.poolID, "userPoolEndpoint", c.iam.poolEndpoint, "identities", state)
	return g.Wrap(api), nil
}
