package iamauth

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
)

// credentialLifetime is how long issued credentials last, as Cognito's do.
const credentialLifetime = time.Hour

// issued is one set of credentials, as the state file keeps it.
type issued struct {
	Secret     string    `json:"secret"`
	Token      string    `json:"token"`
	IdentityID string    `json:"identityId"`
	Expires    time.Time `json:"expires"`
}

// stateFile is what the server keeps across restarts: each user's one
// identity id, and the credentials it issued that have not expired.
type stateFile struct {
	Identities  map[string]string `json:"identities"`  // sub -> identity id
	Credentials map[string]issued `json:"credentials"` // access key id -> credentials
}

// state is the state file, in memory and on disk.
type state struct {
	path   string
	region string

	mu sync.Mutex
	f  stateFile
}

// loadState reads path, or starts empty when there is no such file.
func loadState(path, region string) (*state, error) {
	s := &state{path: path, region: region, f: stateFile{Identities: map[string]string{}, Credentials: map[string]issued{}}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.f); err != nil {
		return nil, fmt.Errorf("%s is not a sign-in state file: %w", path, err)
	}
	if s.f.Identities == nil {
		s.f.Identities = map[string]string{}
	}
	if s.f.Credentials == nil {
		s.f.Credentials = map[string]issued{}
	}
	return s, nil
}

// save writes the state whole, to a file of its own name renamed into
// place, so that a crash leaves the old state or the new one. The caller
// holds mu.
func (s *state) save(now time.Time) error {
	for id, c := range s.f.Credentials {
		if now.After(c.Expires) {
			delete(s.f.Credentials, id)
		}
	}
	b, err := json.MarshalIndent(s.f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".identities-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

// identity returns the identity id of the user sub, making one the first
// time: <region>:<uuid>, as Cognito's.
func (s *state) identity(sub string, now time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.f.Identities[sub]; ok {
		return id, nil
	}
	id := s.region + ":" + uuid.NewString()
	s.f.Identities[sub] = id
	if err := s.save(now); err != nil {
		delete(s.f.Identities, sub)
		return "", err
	}
	return id, nil
}

// known reports whether an identity id was ever given, and to whom.
func (s *state) owner(identityID string) (sub string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub, id := range s.f.Identities {
		if id == identityID {
			return sub, true
		}
	}
	return "", false
}

// issue makes new credentials for identityID, random and good for
// credentialLifetime.
func (s *state) issue(identityID string, now time.Time) (aws.Credentials, error) {
	creds := aws.Credentials{
		// ASIA: what AWS's temporary access key ids start with.
		AccessKeyID:     "ASIA" + strings.ToUpper(rand.Text())[:16],
		SecretAccessKey: rand.Text() + rand.Text(),
		SessionToken:    rand.Text() + rand.Text() + rand.Text() + rand.Text(),
		CanExpire:       true,
		Expires:         now.Add(credentialLifetime).Truncate(time.Second),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.Credentials[creds.AccessKeyID] = issued{Secret: creds.SecretAccessKey, Token: creds.SessionToken,
		IdentityID: identityID, Expires: creds.Expires}
	if err := s.save(now); err != nil {
		delete(s.f.Credentials, creds.AccessKeyID)
		return aws.Credentials{}, err
	}
	return creds, nil
}

// credentials returns the unexpired credentials of an access key id,
// and whose they are.
func (s *state) credentials(accessKeyID string, now time.Time) (aws.Credentials, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.f.Credentials[accessKeyID]
	if !ok || now.After(c.Expires) {
		return aws.Credentials{}, "", false
	}
	return aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: c.Secret, SessionToken: c.Token,
		CanExpire: true, Expires: c.Expires}, c.IdentityID, true
}
