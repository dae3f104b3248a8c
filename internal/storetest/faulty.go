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
// the wrapped Store otherwise.
type Faulty struct {
	Store
	CreateFn        func(ctx context.Context, n store.Note) (store.Note, error)
	GetFn           func(ctx context.Context, userID, noteID string) (store.Note, error)
	ListFn          func(ctx context.Context, userID string, limit int, cursor string) (store.Page, error)
	UpdateFn        func(ctx context.Context, n store.Note) (store.Note, *string, error)
	DeleteFn        func(ctx context.Context, userID, noteID string) (store.Note, error)
	CountFn         func(ctx context.Context, userID string) (int, int, error)
	AddPurchaseFn   func(ctx context.Context, p store.Purchase) (bool, error)
	ListPurchasesFn func(ctx context.Context, userID string) ([]store.Purchase, error)
}

// Create implements routes.NoteStore.
func (f Faulty) Create(ctx context.Context, n store.Note) (store.Note, error) {
	if f.CreateFn != nil {
		return f.CreateFn(ctx, n)
	}
	return f.Store.Create(ctx, n)
}

// Get implements routes.NoteStore.
func (f Faulty) Get(ctx context.Context, userID, noteID string) (store.Note, error) {
	if f.GetFn != nil {
		return f.GetFn(ctx, userID, noteID)
	}
	return f.Store.Get(ctx, userID, noteID)
}

// List implements routes.NoteStore.
func (f Faulty) List(ctx context.Context, userID string, limit int, cursor string) (store.Page, error) {
	if f.ListFn != nil {
		return f.ListFn(ctx, userID, limit, cursor)
	}
	return f.Store.List(ctx, userID, limit, cursor)
}

// Update implements routes.NoteStore.
func (f Faulty) Update(ctx context.Context, n store.Note) (store.Note, *string, error) {
	if f.UpdateFn != nil {
		return f.UpdateFn(ctx, n)
	}
	return f.Store.Update(ctx, n)
}

// Delete implements routes.NoteStore.
func (f Faulty) Delete(ctx context.Context, userID, noteID string) (store.Note, error) {
	if f.DeleteFn != nil {
		return f.DeleteFn(ctx, userID, noteID)
	}
	return f.Store.Delete(ctx, userID, noteID)
}

// Count implements routes.NoteStore.
func (f Faulty) Count(ctx context.Context, userID string) (int, int, error) {
	if f.CountFn != nil {
		return f.CountFn(ctx, userID)
	}
	return f.Store.Count(ctx, userID)
}

// AddPurchase implements routes.PurchaseStore.
func (f Faulty) AddPurchase(ctx context.Context, p store.Purchase) (bool, error) {
	if f.AddPurchaseFn != nil {
		return f.AddPurchaseFn(ctx, p)
	}
	return f.Store.AddPurchase(ctx, p)
}

// ListPurchases implements routes.PurchaseStore.
func (f Faulty) ListPurchases(ctx context.Context, userID string) ([]store.Purchase, error) {
	if f.ListPurchasesFn != nil {
		return f.ListPurchasesFn(ctx, userID)
	}
	return f.Store.ListPurchases(ctx, userID)
}

// Failing is a Faulty whose operation op ("Create", "Get", "List",
// "Update", "Delete", "Count", "AddPurchase" or "ListPurchases") returns
// err before doing anything.
func Failing(s Store, op string, err error) Faulty {
	f := Faulty{Store: s}
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
	case "AddPurchase":
		f.AddPurchaseFn = func(context.Context, store.Purchase) (bool, error) { return false, err }
	case "ListPurchases":
		f.ListPurchasesFn = func(context.Context, string) ([]store.Purchase, error) { return nil, err }
	default:
		panic("storetest.Failing: no operation " + op)
	}
	return f
}
