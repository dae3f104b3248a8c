package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// dynamoTimeout bounds each store call, retries included, well inside
// API Gateway's 29 s integration timeout.
const dynamoTimeout = 8 * time.Second

// Dynamo is the deployed store: one DynamoDB table with partition key
// userId and sort key noteId, the original app's table. Every write is
// conditional, so nothing is half-done or silently created.
type Dynamo struct {
	client *dynamodb.Client
	table  string
}

// NewDynamo returns a store on table through a ready client.
func NewDynamo(client *dynamodb.Client, table string) *Dynamo {
	return &Dynamo{client: client, table: table}
}

// item is a note as the table holds it. The original Node.js app wrote
// content and attachment as NULL at times, and no createdAt on the notes
// its update created: all of these decode to zero values.
type item struct {
	UserID     string  `dynamodbav:"userId"`
	NoteID     string  `dynamodbav:"noteId"`
	Content    string  `dynamodbav:"content"`
	Attachment *string `dynamodbav:"attachment"`
	CreatedAt  int64   `dynamodbav:"createdAt"`
	UpdatedAt  int64   `dynamodbav:"updatedAt,omitempty"`
}

func (d *Dynamo) key(userID, noteID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"userId": &types.AttributeValueMemberS{Value: userID},
		"noteId": &types.AttributeValueMemberS{Value: noteID},
	}
}

func decodeItem(av map[string]types.AttributeValue) (Note, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return Note{}, err
	}
	return Note(it), nil
}

// Create implements routes.NoteStore.
func (d *Dynamo) Create(ctx context.Context, n Note) (Note, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	av, err := attributevalue.MarshalMap(item(n))
	if err != nil {
		return Note{}, fmt.Errorf("dynamo encode note %s: %w", n.NoteID, err)
	}
	_, err = d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &d.table,
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(noteId)"),
	})
	if err != nil {
		return Note{}, fmt.Errorf("dynamo create note %s: %w", n.NoteID, translate(err, ErrConflict))
	}
	return n, nil
}

// Get implements routes.NoteStore.
func (d *Dynamo) Get(ctx context.Context, userID, noteID string) (Note, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &d.table,
		Key:            d.key(userID, noteID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Note{}, fmt.Errorf("dynamo get note %s: %w", noteID, translate(err, nil))
	}
	if out.Item == nil {
		return Note{}, fmt.Errorf("dynamo get note %s: %w", noteID, ErrNotFound)
	}
	n, err := decodeItem(out.Item)
	if err != nil {
		return Note{}, fmt.Errorf("dynamo decode note %s: %w", noteID, err)
	}
	return n, nil
}

// List implements routes.NoteStore. It reads one more note than asked, so
// a cursor is only returned when another note really follows, and keeps
// reading past DynamoDB's 1 MB pages until the page is full.
func (d *Dynamo) List(ctx context.Context, userID string, limit int, cursor string) (Page, error) {
	if limit <= 0 {
		return Page{}, fmt.Errorf("dynamo list: limit %d must be positive", limit)
	}
	var start map[string]types.AttributeValue
	if cursor != "" {
		after, err := decodeCursor(userID, cursor)
		if err != nil {
			return Page{}, err
		}
		// The key is rebuilt from the caller's own id: a cursor can only
		// ever continue the caller's partition.
		start = d.key(userID, after)
	}
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	page := Page{Notes: []Note{}}
	for {
		out, err := d.client.Query(ctx, &dynamodb.QueryInput{
			TableName:              &d.table,
			KeyConditionExpression: aws.String("userId = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":u": &types.AttributeValueMemberS{Value: userID},
			},
			ScanIndexForward:  aws.Bool(false),
			ConsistentRead:    aws.Bool(true),
			Limit:             aws.Int32(int32(limit + 1 - len(page.Notes))),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return Page{}, fmt.Errorf("dynamo list notes: %w", translate(err, nil))
		}
		for _, av := range out.Items {
			if len(page.Notes) == limit {
				page.Next = encodeCursor(userID, page.Notes[limit-1].NoteID)
				return page, nil
			}
			n, err := decodeItem(av)
			if err != nil {
				return Page{}, fmt.Errorf("dynamo decode listed note: %w", err)
			}
			page.Notes = append(page.Notes, n)
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		start = out.LastEvaluatedKey
	}
}

// Update implements routes.NoteStore.
func (d *Dynamo) Update(ctx context.Context, n Note) (Note, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	var attachment types.AttributeValue = &types.AttributeValueMemberNULL{Value: true}
	if n.Attachment != nil {
		attachment = &types.AttributeValueMemberS{Value: *n.Attachment}
	}
	out, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &d.table,
		Key:                 d.key(n.UserID, n.NoteID),
		UpdateExpression:    aws.String("SET content = :c, attachment = :a, updatedAt = :t"),
		ConditionExpression: aws.String("attribute_exists(noteId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":c": &types.AttributeValueMemberS{Value: n.Content},
			":a": attachment,
			":t": &types.AttributeValueMemberN{Value: fmt.Sprint(n.UpdatedAt)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return Note{}, fmt.Errorf("dynamo update note %s: %w", n.NoteID, translate(err, ErrNotFound))
	}
	updated, err := decodeItem(out.Attributes)
	if err != nil {
		return Note{}, fmt.Errorf("dynamo decode updated note %s: %w", n.NoteID, err)
	}
	return updated, nil
}

// Delete implements routes.NoteStore.
func (d *Dynamo) Delete(ctx context.Context, userID, noteID string) (Note, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	out, err := d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           &d.table,
		Key:                 d.key(userID, noteID),
		ConditionExpression: aws.String("attribute_exists(noteId)"),
		ReturnValues:        types.ReturnValueAllOld,
	})
	if err != nil {
		return Note{}, fmt.Errorf("dynamo delete note %s: %w", noteID, translate(err, ErrNotFound))
	}
	old, err := decodeItem(out.Attributes)
	if err != nil {
		return Note{}, fmt.Errorf("dynamo decode deleted note %s: %w", noteID, err)
	}
	return old, nil
}

// throttlingCodes are DynamoDB's ways of saying "slow down".
var throttlingCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
}

// translate maps what the SDK returned, after its own retries, to the
// store's errors: a failed condition to onCondition; throttling, time-outs
// and an unreachable endpoint to ErrUnavailable. The original error stays
// in the chain for the log.
func translate(err error, onCondition error) error {
	var (
		condition *types.ConditionalCheckFailedException
		api       smithy.APIError
		send      *smithyhttp.RequestSendError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &condition) && onCondition != nil:
		return fmt.Errorf("%w (%w)", onCondition, err)
	case errors.As(err, &api) && throttlingCodes[api.ErrorCode()],
		errors.As(err, &send), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (%w)", ErrUnavailable, err)
	}
	return err
}

// CreateTable creates the notes table as the SAM template declares it
// (userId HASH, noteId RANGE, on demand) and waits until it is active. It
// is for local servers and tests; deployed, the template owns the table.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("userId"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("noteId"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("userId"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("noteId"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("dynamo create table %s: %w", name, err)
	}
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamo table %s never became active: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
