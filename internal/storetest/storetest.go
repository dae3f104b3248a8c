// Package storetest is what tests need of the stores: a real bbolt store
// on disk, the DynamoDB store on a fresh table (created as template.yaml
// declares it) in the DynamoDB-compatible server make test starts, and a
// store whose methods can be made to fail, for fault injection.
//
// Only tests (and scripts/dynalite.sh, through createtable) import it.
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scratch-notes/notes-api/internal/awstest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

// Bolt is a real bbolt store in a temporary directory, closed when the
// test ends.
func Bolt(t testing.TB) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "notes.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var tableSeq atomic.Int64

// The tables of template.yaml, by their logical ids.
const (
	NotesTable     = "NotesTable"
	PurchasesTable = "PurchasesTable"
)

// Tables names a notes table and a purchases table.
type Tables struct{ Notes, Purchases string }

// Table creates a table of its own, as template.yaml declares the resource
// (NotesTable or PurchasesTable), in the DynamoDB-compatible server,
// deleted when the test ends, and returns its name.
func Table(t testing.TB, client *dynamodb.Client, resource string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", resource, os.Getpid(), tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := CreateTable(ctx, client, resource, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// Dynamo is the DynamoDB store on fresh tables, with the client and the
// tables' names for tests that read or seed items directly.
func Dynamo(t testing.TB) (*store.Dynamo, *dynamodb.Client, Tables) {
	t.Helper()
	client := testenv.DynamoClient(t, 3)
	tables := Tables{Notes: Table(t, client, NotesTable), Purchases: Table(t, client, PurchasesTable)}
	return store.NewDynamo(client, tables.Notes, tables.Purchases), client, tables
}

// tableProperties is what CreateTable reads of a table's resource: the
// key and how it is billed.
type tableProperties struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema []struct {
		AttributeName string `yaml:"AttributeName"`
		KeyType       string `yaml:"KeyType"`
	} `yaml:"KeySchema"`
}

// tableOf reads a table resource's properties of template.yaml: the
// tables' schemas have no other home.
func tableOf(resource string) (tableProperties, error) {
	d, err := awstest.ReadTemplate()
	if err != nil {
		return tableProperties{}, err
	}
	n := awstest.At(d.Root, "Resources", resource, "Properties")
	if n == nil {
		return tableProperties{}, fmt.Errorf("template.yaml has no Resources.%s.Properties", resource)
	}
	var p tableProperties
	if err := n.Decode(&p); err != nil {
		return tableProperties{}, fmt.Errorf("template.yaml %s: %w", resource, err)
	}
	return p, nil
}

// CreateTable creates the table name as template.yaml declares the
// resource, and waits until it is active.
func CreateTable(ctx context.Context, client *dynamodb.Client, resource, name string) error {
	p, err := tableOf(resource)
	if err != nil {
		return err
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingMode(p.BillingMode)}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	for _, k := range p.KeySchema {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	if _, err := client.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s never became active: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
