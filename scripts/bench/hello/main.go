// Command hello is the cold-start baseline of make bench: a Lambda
// function on aws-lambda-go alone, answering every event with a fixed
// proxy answer. Nothing a Go Lambda can start faster than.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (map[string]any, error) {
		return map[string]any{"statusCode": 200, "body": `{"hello":"world"}`}, nil
	})
}
