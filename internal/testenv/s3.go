package testenv

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Credentials are those with-services.sh starts versitygw with.
func S3Credentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: "notes-test", SecretAccessKey: "notes-test-secret"}
}

// S3 is the base URL of an S3-compatible server that checks SigV4
// signatures and enforces bucket CORS rules (versitygw).
func S3(t testing.TB) string {
	t.Helper()
	return service(t, "NOTES_TEST_S3_ENDPOINT", "S3-compatible server")
}

var bucketSeq atomic.Int64

// CORSRule is one bucket CORS rule, as template.yaml declares it.
type CORSRule struct {
	AllowedOrigins, AllowedMethods, AllowedHeaders, ExposedHeaders []string
	MaxAge                                                         int32
}

// S3Bucket creates a bucket of its own on the S3-compatible server, with
// the given CORS rules, and returns its name. It is emptied and removed
// when the test ends.
func S3Bucket(t testing.TB, rules ...CORSRule) string {
	t.Helper()
	client := s3Client(t)
	ctx := context.Background()
	name := fmt.Sprintf("notes-test-%d-%d", os.Getpid(), bucketSeq.Add(1))
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &name})
		if err == nil {
			for _, o := range out.Contents {
				client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: o.Key})
			}
		}
		client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name})
	})
	if len(rules) > 0 {
		var cfg types.CORSConfiguration
		for _, r := range rules {
			cfg.CORSRules = append(cfg.CORSRules, types.CORSRule{AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
				AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposedHeaders, MaxAgeSeconds: aws.Int32(r.MaxAge)})
		}
		if _, err := client.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &name, CORSConfiguration: &cfg}); err != nil {
			t.Fatalf("put bucket CORS on %s: %v", name, err)
		}
	}
	return name
}

// S3Objects lists the keys in bucket.
func S3Objects(t testing.TB, bucket string) []string {
	t.Helper()
	out, err := s3Client(t).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatalf("list %s: %v", bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

// s3Client is an S3 client of the S3-compatible server, for setting up and
// looking into buckets (the API itself has none).
func s3Client(t testing.TB) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(S3(t)),
		Credentials:  credentials.StaticCredentialsProvider{Value: S3Credentials()},
		UsePathStyle: true,
	})
}
