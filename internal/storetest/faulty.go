package storetest

import (
	"context"

	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// Store is what the API keeps its data in: notes, and what was paid for
// beside them (store.Bolt and store.Dynamo are both).
type Store interface {
	routes.NoteStore
	routes.PurchaseStore
}

// Faulty is a Store for fault injection: each method calls its function
// field when that is set (to fail, hang or panic as a backend can), and
// Inner's method otherwise. It embeds nothing: every method of Store is
// written out, so a method added to the interface fails to compile here
// until it has a field of its own.
type Faulty struct {
	Inner           Store
	CreateFn        func(ctx context.Context, n store.Note) (store.Note, error)
	GetFn           func(ctx context.Context, userID, noteID string) (store.Note, error)
	ListFn          func(ctx context.Context, userID string, limit int, cursor string) (store.Page, error)
	UpdateFn        func(ctx context.Context, n store.Note) (store.Note, *string, error)
	DeleteFn        func(ctx context.Context, userID, noteID string) (store.Note, error)
	CountFn         func(ctx context.Context, userID string) (int, int, error)
	ApplyPurchaseFn func(ctx context.Context, c store.PurchaseChange) (store.Purchase, bool, error)
	PurchaseOwnerFn func(ctx context.Context, id string) (string, error)
	ListPurchasesFn func(ctx context.Context, userID string) ([]store.Purchase, error)
}

var _ Store = Faulty{}

// Create implements routes.NoteStore.
func (f Faulty) Create(ctx context.Context, n store.Note) (store.Note, error) {
	if f.CreateFn != nil {
		return f.CreateFn(ctx, n)
	}
	return f.Inner.Create(ctx, n)
}

// Get implements routes.NoteStore.
func (f Faulty) Get(ctx context.Context, userID, noteID string) (store.Note, error) {
	if f.GetFn != nil {
		return f.GetFn(ctx, userID, noteID)
	}
	return f.Inner.Get(ctx, userID, noteID)
}

// List implements routes.NoteStore.
func (f Faulty) List(ctx context.Context, userID string, limit int, cursor string) (store.Page, error) {
	if f.ListFn != nil {
		return f.ListFn(ctx, userID, limit, cursor)
	}
	return f.Inner.List(ctx, userID, limit, cursor)
}

// Update implements routes.NoteStore.
func (f Faulty) Update(ctx context.Context, n store.Note) (store.Note, *string, error) {
	if f.UpdateFn != nil {
		return f.UpdateFn(ctx, n)
	}
	return f.Inner.Update(ctx, n)
}

// Delete implements routes.NoteStore.
func (f Faulty) Delete(ctx context.Context, userID, noteID string) (store.Note, error) {
	if f.DeleteFn != nil {
		return f.DeleteFn(ctx, userID, noteID)
	}
	return f.Inner.Delete(ctx, userID, noteID)
}

// Count implements routes.NoteStore.
func (f Faulty) Count(ctx context.Context, userID string) (int, int, error) {
	if f.CountFn != nil {
		return f.CountFn(ctx, userID)
	}
	return f.Inner.Count(ctx, userID)
}

// ApplyPurchase implements routes.PurchaseStore.
func (f Faulty) ApplyPurchase(ctx context.Context, c store.PurchaseChange) (store.Purchase, bool, error) {
	if f.ApplyPurchaseFn != nil {
		return f.ApplyPurchaseFn(ctx, c)
	}
	return f.Inner.ApplyPurchase(ctx, c)
}

// PurchaseOwner implements routes.PurchaseStore.
func (f Faulty) PurchaseOwner(ctx context.Context, id string) (string, error) {
	if f.PurchaseOwnerFn != nil {
		return f.PurchaseOwnerFn(ctx, id)
	}
	return f.Inner.PurchaseOwner(ctx, id)
}

// ListPurchases implements routes.PurchaseStore.
func (f Faulty) ListPurchases(ctx context.Context, userID string) ([]store.Purchase, error) {
	if f.ListPurchasesFn != nil {
		return f.ListPurchasesFn(ctx, userID)
	}
	return f.Inner.ListPurchases(ctx, userID)
}

// Failing is a Faulty whose operation op ("Create", "Get", "List",
// "Update", "Delete", "Count", "ApplyPurchase", "PurchaseOwner" or
// "ListPurchases") returns
// err before doing anything.
func Failing(s Store, op string, err error) Faulty {
	f := Faulty{Inner: s}
	switch op {
	case "Create":
		f.CreateFn = func(context.Context, store.Note) (store.Note, error) { return store.Note{}, err }
	case "Get":
		f.GetFn = func(context.Context, string, string) (store.Note, error) { return store.Note{}, err }
	case "List":
		f.ListFn = func(context.Context, string, int, string) (store.Page, error) { return store.Page{}, err }
	case "Update":
		f.UpdateFn = func(context.Context, store.Note) (store.Note, *string, error) { return store.Note{}, nil, err }
	case "Delete":
		f.DeleteFn = func(context.Context, string, string) (store.Note, error) { return store.Note{}, err }
	case "Count":
		f.CountFn = func(context.Context, string) (int, int, error) { return 0, 0, err }
	case "ApplyPurchase":
		f.ApplyPurchaseFn = func(context.Context, store.PurchaseChange) (store.Purchase, bool, error) {
			return store.Purchase{}, false, err
		}
	case "PurchaseOwner":
		f.PurchaseOwnerFn = func(context.Context, string) (string, error) { return "", err }
	case "ListPurchases":
		f.ListPurchasesFn = func(context.Context, string) ([]store.Purchase, error) { return nil, err }
	default:
		panic("storetest.Failing: no operation " + op)
	}
	return f
}
