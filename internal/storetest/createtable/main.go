// Command createtable creates a table as template.yaml declares it (the
// notes table, or the purchases table) in a DynamoDB-compatible server:
// scripts/dynalite.sh runs it for make run-dynamo and sam local.
//
//	go run ./internal/storetest/createtable -endpoint http://127.0.0.1:8000 -resource NotesTable -table notes
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scratch-notes/notes-api/internal/storetest"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:8000", "the DynamoDB-compatible server")
	resource := flag.String("resource", storetest.NotesTable, "the table's resource in template.yaml")
	table := flag.String("table", "notes", "the table's name")
	flag.Parse()
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(*endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := storetest.CreateTable(ctx, client, *resource, *table); err != nil {
		fmt.Fprintln(os.Stderr, "createtable:", err)
		os.Exit(1)
	}
}
