// Package secrets reads a secret string from AWS Secrets Manager. It
// makes its one API call (GetSecretValue) itself, signed with
// aws-sdk-go-v2's SigV4 signer, instead of linking the Secrets Manager
// client, whose generated tables cost the Lambda's cold start about a
// millisecond and a half for one call made once per instance.
package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ErrUnavailable: the secret does not exist, may not be read, is being
// deleted, or holds no string. Asking again will not help until someone
// fixes it.
var ErrUnavailable = errors.New("secret unavailable")

// callTimeout bounds one GetSecretValue.
const callTimeout = 5 * time.Second

// Manager reads secrets from one region's Secrets Manager.
type Manager struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	client   *http.Client
}

// New returns a reader with cfg's region and credentials. endpoint, when
// not empty, is a Secrets Manager-compatible server
// (AWS_ENDPOINT_URL_SECRETS_MANAGER); otherwise AWS's own.
func New(cfg aws.Config, endpoint string) *Manager {
	if endpoint == "" {
		suffix := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		endpoint = "https://secretsmanager." + cfg.Region + "." + suffix
	}
	return &Manager{endpoint: strings.TrimSuffix(endpoint, "/") + "/", region: cfg.Region, creds: cfg.Credentials,
		signer: v4.NewSigner(), client: &http.Client{Timeout: callTimeout}}
}

// SecretString returns the SecretString of the secret id (a name or an ARN).
// A secret that cannot be had is ErrUnavailable; anything else (the
// service failing or unreachable) is worth retrying. Errors name the
// secret: they are for the log.
func (m *Manager) SecretString(ctx context.Context, id string) (string, error) {
	body, _ := json.Marshal(map[string]string{"SecretId": id})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	creds, err := m.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("secret %s: credentials: %w", id, err)
	}
	sum := sha256.Sum256(body)
	if err := m.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", m.region, time.Now().UTC()); err != nil {
		return "", fmt.Errorf("secret %s: sign: %w", id, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id, err)
	}
	var out struct {
		SecretString *string
		Type         string `json:"__type"`
		Message      string `json:"message"`
	}
	jerr := json.Unmarshal(raw, &out)
	if resp.StatusCode == http.StatusOK && jerr != nil {
		// Not Secrets Manager's answer (a proxy's page, say): worth
		// trying again, not a secret that cannot be had.
		return "", fmt.Errorf("secret %s: Secrets Manager answered 200 with a body that is not its JSON: %v", id, jerr)
	}
	if resp.StatusCode != http.StatusOK {
		code := out.Type[strings.LastIndex(out.Type, "#")+1:]
		switch code {
		case "ResourceNotFoundException", "AccessDeniedException", "InvalidRequestException", "DecryptionFailure",
			"InvalidParameterException", "UnrecognizedClientException":
			return "", fmt.Errorf("secret %s: %s: %s: %w", id, code, out.Message, ErrUnavailable)
		}
		return "", fmt.Errorf("secret %s: Secrets Manager answered %s: %s %s", id, resp.Status, code, out.Message)
	}
	if out.SecretString == nil || *out.SecretString == "" {
		return "", fmt.Errorf("secret %s holds no string: %w", id, ErrUnavailable)
	}
	return *out.SecretString, nil
}
