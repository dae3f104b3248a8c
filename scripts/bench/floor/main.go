// Command floor is the SDK floor of make bench's cold start: hello plus
// what no Go Lambda that keeps data in DynamoDB with aws-sdk-go-v2 can go
// without, a DynamoDB client built from the environment Lambda sets (the
// way the API's Lambda build builds it) and one PutItem per event, the
// same conditional PutItem the API makes to create a note (a server
// spends longer on a first condition expression than on a plain write).
// The API's cold start is measured against it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"), Credentials: credentials.NewStaticCredentialsProvider(
		os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	table := os.Getenv("NOTES_TABLE")
	lambda.Start(func(ctx context.Context, _ map[string]any) (map[string]any, error) {
		id := fmt.Sprint(time.Now().UnixNano())
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
			"userId": &types.AttributeValueMemberS{Value: "floor"}, "noteId": &types.AttributeValueMemberS{Value: id},
			"content": &types.AttributeValueMemberS{Value: "hello"},
		}, ConditionExpression: aws.String("attribute_not_exists(noteId)")})
		if err != nil {
			return nil, err
		}
		return map[string]any{"statusCode": 201, "body": `{"noteId":"` + id + `"}`}, nil
	})
}
