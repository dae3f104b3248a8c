package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// dynamoTimeout bounds each store call, retries included, well inside
// API Gateway's 29 s integration timeout.
const dynamoTimeout = 8 * time.Second

// Dynamo is the deployed store: the notes in one DynamoDB table with
// partition key userId and sort key noteId, the original app's table; the
// purchases in another, userId and purchaseId, so that nothing that reads
// the notes table (the original app among them) ever meets one. Every
// write is conditional, so nothing is half-done or silently created.
type Dynamo struct {
	client    *dynamodb.Client
	table     string
	purchases string
}

// NewDynamo returns a store on the tables notes and purchases through a
// ready client.
func NewDynamo(client *dynamodb.Client, notes, purchases string) *Dynamo {
	return &Dynamo{client: client, table: notes, purchases: purchases}
}

// A note as the table holds it, the original app's item: userId and
// noteId (the key), content, attachment (a string, or NULL for none),
// createdAt and, once changed, updatedAt (epoch milliseconds, numbers).
// The original Node.js app wrote content and attachment as NULL at times,
// and no createdAt on the notes its update created: all of these decode to
// zero values. Encoded by hand rather than with the attributevalue
// package, which links the DynamoDB Streams client into the Lambda.
func encodeItem(n Note) map[string]types.AttributeValue {
	av := map[string]types.AttributeValue{
		"userId":     &types.AttributeValueMemberS{Value: n.UserID},
		"noteId":     &types.AttributeValueMemberS{Value: n.NoteID},
		"content":    &types.AttributeValueMemberS{Value: n.Content},
		"attachment": nullable(n.Attachment),
		"createdAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(n.CreatedAt, 10)},
	}
	if n.UpdatedAt != 0 {
		av["updatedAt"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(n.UpdatedAt, 10)}
	}
	return av
}

func nullable(s *string) types.AttributeValue {
	if s == nil {
		return &types.AttributeValueMemberNULL{Value: true}
	}
	return &types.AttributeValueMemberS{Value: *s}
}

func (d *Dynamo) key(userID, noteID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"userId": &types.AttributeValueMemberS{Value: userID},
		"noteId": &types.AttributeValueMemberS{Value: noteID},
	}
}

func decodeItem(av map[string]types.AttributeValue) (Note, error) {
	var (
		n   Note
		err error
	)
	str := func(name string) *string {
		switch v := av[name].(type) {
		case nil, *types.AttributeValueMemberNULL:
			return nil
		case *types.AttributeValueMemberS:
			return &v.Value
		default:
			err = errors.Join(err, fmt.Errorf("attribute %s is %T, want a string", name, v))
			return nil
		}
	}
	num := func(name string) int64 {
		switch v := av[name].(type) {
		case nil, *types.AttributeValueMemberNULL:
			return 0
		case *types.AttributeValueMemberN:
			i, perr := strconv.ParseInt(v.Value, 10, 64)
			if perr != nil {
				f, ferr := strconv.ParseFloat(v.Value, 64)
				if ferr != nil {
					err = errors.Join(err, fmt.Errorf("attribute %s is %q, want a number", name, v.Value))
				}
				i = int64(f)
			}
			return i
		default:
			err = errors.Join(err, fmt.Errorf("attribute %s is %T, want a number", name, v))
			return 0
		}
	}
	if p := str("userId"); p != nil {
		n.UserID = *p
	}
	if p := str("noteId"); p != nil {
		n.NoteID = *p
	}
	if p := str("content"); p != nil {
		n.Content = *p
	}
	n.Attachment = str("attachment")
	n.CreatedAt = num("createdAt")
	n.UpdatedAt = num("updatedAt")
	return n, err
}

// Create implements routes.NoteStore.
func (d *Dynamo) Create(ctx context.Context, n Note) (Note, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	_, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &d.table,
		Item:                encodeItem(n),
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

// Update implements routes.NoteStore. The item's old attributes come
// back from the one conditional UpdateItem, so the replaced attachment is
// the one this update replaced, whatever else ran at the same time.
func (d *Dynamo) Update(ctx context.Context, n Note) (Note, *string, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	out, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &d.table,
		Key:                 d.key(n.UserID, n.NoteID),
		UpdateExpression:    aws.String("SET content = :c, attachment = :a, updatedAt = :t"),
		ConditionExpression: aws.String("attribute_exists(noteId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":c": &types.AttributeValueMemberS{Value: n.Content},
			":a": nullable(n.Attachment),
			":t": &types.AttributeValueMemberN{Value: strconv.FormatInt(n.UpdatedAt, 10)},
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return Note{}, nil, fmt.Errorf("dynamo update note %s: %w", n.NoteID, translate(err, ErrNotFound))
	}
	old, err := decodeItem(out.Attributes)
	if err != nil {
		return Note{}, nil, fmt.Errorf("dynamo decode updated note %s: %w", n.NoteID, err)
	}
	updated := old
	updated.Content, updated.Attachment, updated.UpdatedAt = n.Content, n.Attachment, n.UpdatedAt
	return updated, old.Attachment, nil
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

// A purchase as the purchases table holds it: userId and purchaseId (the
// key), paid (a boolean), storage, amount, createdAt and refunded
// (numbers), dispute (a string, when there is one), and version, which
// each write bumps. An item written before purchases had a life has no
// paid and no version: it was paid.
func encodePurchase(p Purchase, version int64) map[string]types.AttributeValue {
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	av := map[string]types.AttributeValue{
		"userId":     &types.AttributeValueMemberS{Value: p.UserID},
		"purchaseId": &types.AttributeValueMemberS{Value: p.ID},
		"paid":       &types.AttributeValueMemberBOOL{Value: p.Paid},
		"storage":    n(p.Storage),
		"amount":     n(p.Amount),
		"createdAt":  n(p.CreatedAt),
		"refunded":   n(p.Refunded),
		"version":    n(version),
	}
	if p.Dispute != "" {
		av["dispute"] = &types.AttributeValueMemberS{Value: p.Dispute}
	}
	return av
}

func decodePurchase(av map[string]types.AttributeValue) (p Purchase, version int64, err error) {
	var errs []error
	str := func(name string, optional bool) string {
		v, ok := av[name].(*types.AttributeValueMemberS)
		if !ok {
			if _, there := av[name]; there || !optional {
				errs = append(errs, fmt.Errorf("attribute %s is %T, want a string", name, av[name]))
			}
			return ""
		}
		return v.Value
	}
	num := func(name string, optional bool) int64 {
		v, ok := av[name].(*types.AttributeValueMemberN)
		if !ok {
			if _, there := av[name]; there || !optional {
				errs = append(errs, fmt.Errorf("attribute %s is %T, want a number", name, av[name]))
			}
			return 0
		}
		i, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("attribute %s is %q, want a whole number", name, v.Value))
		}
		return i
	}
	p.UserID, p.ID = str("userId", false), str("purchaseId", false)
	p.Storage, p.Amount, p.CreatedAt = num("storage", false), num("amount", false), num("createdAt", false)
	p.Refunded, p.Dispute, version = num("refunded", true), str("dispute", true), num("version", true)
	p.Paid = true
	if v, ok := av["paid"].(*types.AttributeValueMemberBOOL); ok {
		p.Paid = v.Value
	}
	return p, version, errors.Join(errs...)
}

// ownerKey is the key of the item that says whose purchase id is: in
// the purchases table, in a partition of its own that no identity has.
func ownerKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"userId":     &types.AttributeValueMemberS{Value: "#owner#" + id},
		"purchaseId": &types.AttributeValueMemberS{Value: id},
	}
}

// applyAttempts is how many times ApplyPurchase reads and writes again
// when another write came between its read and its write.
const applyAttempts = 5

// ApplyPurchase implements routes.PurchaseStore: a consistent GetItem,
// then a PutItem conditional on the version it read, again when another
// writer came between; and, for a purchase it makes, the item of its
// owner.
func (d *Dynamo) ApplyPurchase(ctx context.Context, c PurchaseChange) (Purchase, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	key := map[string]types.AttributeValue{
		"userId":     &types.AttributeValueMemberS{Value: c.UserID},
		"purchaseId": &types.AttributeValueMemberS{Value: c.ID},
	}
	for range applyAttempts {
		got, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.purchases, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return Purchase{}, false, fmt.Errorf("dynamo read purchase %s: %w", c.ID, translate(err, nil))
		}
		p, version := Purchase{UserID: c.UserID, ID: c.ID}, int64(0)
		if got.Item != nil {
			if p, version, err = decodePurchase(got.Item); err != nil {
				return Purchase{}, false, fmt.Errorf("dynamo decode purchase %s: %w", c.ID, err)
			}
		}
		out, changed := p.Apply(c)
		if !changed && got.Item != nil {
			return out, false, nil
		}
		if got.Item == nil {
			// The owner first: a refund that comes next finds it.
			item := ownerKey(c.ID)
			item["owner"] = &types.AttributeValueMemberS{Value: c.UserID}
			if _, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.purchases, Item: item}); err != nil {
				return Purchase{}, false, fmt.Errorf("dynamo record purchase owner %s: %w", c.ID, translate(err, nil))
			}
		}
		put := &dynamodb.PutItemInput{TableName: &d.purchases, Item: encodePurchase(out, version+1),
			ConditionExpression: aws.String("attribute_not_exists(purchaseId)")}
		switch {
		case got.Item != nil && version == 0: // written before versions
			put.ConditionExpression = aws.String("attribute_exists(purchaseId) AND attribute_not_exists(#v)")
			put.ExpressionAttributeNames = map[string]string{"#v": "version"}
		case got.Item != nil:
			put.ConditionExpression = aws.String("#v = :v")
			put.ExpressionAttributeNames = map[string]string{"#v": "version"}
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)}}
		}
		_, err = d.client.PutItem(ctx, put)
		if err == nil {
			return out, true, nil
		}
		if err = translate(err, ErrConflict); !errors.Is(err, ErrConflict) {
			return Purchase{}, false, fmt.Errorf("dynamo write purchase %s: %w", c.ID, err)
		}
	}
	return Purchase{}, false, fmt.Errorf("dynamo write purchase %s: %d writers in a row came first: %w", c.ID, applyAttempts, ErrUnavailable)
}

// PurchaseOwner implements routes.PurchaseStore: one consistent GetItem
// of the owner's item.
func (d *Dynamo) PurchaseOwner(ctx context.Context, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	got, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.purchases, Key: ownerKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("dynamo purchase owner %s: %w", id, translate(err, nil))
	}
	v, ok := got.Item["owner"].(*types.AttributeValueMemberS)
	if !ok || v.Value == "" {
		return "", fmt.Errorf("dynamo purchase owner %s: %w", id, ErrNotFound)
	}
	return v.Value, nil
}

// ListPurchases implements routes.PurchaseStore: every purchase of the
// user, read across DynamoDB's pages, newest first.
func (d *Dynamo) ListPurchases(ctx context.Context, userID string) ([]Purchase, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	out := []Purchase{}
	var start map[string]types.AttributeValue
	for {
		page, err := d.client.Query(ctx, &dynamodb.QueryInput{
			TableName:              &d.purchases,
			KeyConditionExpression: aws.String("userId = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":u": &types.AttributeValueMemberS{Value: userID},
			},
			ConsistentRead:    aws.Bool(true),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("dynamo list purchases: %w", translate(err, nil))
		}
		for _, av := range page.Items {
			p, _, err := decodePurchase(av)
			if err != nil {
				return nil, fmt.Errorf("dynamo decode purchase: %w", err)
			}
			out = append(out, p)
		}
		if page.LastEvaluatedKey == nil {
			sortPurchases(out)
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// Count implements routes.NoteStore: how many notes the user has, and
// how many of them name an attachment, from one consistent Query that
// reads only the attachment of each, across DynamoDB's pages.
func (d *Dynamo) Count(ctx context.Context, userID string) (notes, attachments int, err error) {
	ctx, cancel := context.WithTimeout(ctx, dynamoTimeout)
	defer cancel()
	var start map[string]types.AttributeValue
	for {
		out, err := d.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &d.table,
			KeyConditionExpression:    aws.String("userId = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: userID}},
			ProjectionExpression:      aws.String("#a"),
			ExpressionAttributeNames:  map[string]string{"#a": "attachment"},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return 0, 0, fmt.Errorf("dynamo count notes: %w", translate(err, nil))
		}
		for _, it := range out.Items {
			notes++
			if _, ok := it["attachment"].(*types.AttributeValueMemberS); ok {
				attachments++
			}
		}
		if out.LastEvaluatedKey == nil {
			return notes, attachments, nil
		}
		start = out.LastEvaluatedKey
	}
}
