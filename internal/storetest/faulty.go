package storetest

import (
	"context"

	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// Faulty is a routes.NoteStore for fault injection: each method calls its
// function field when that is set (to fail, hang or panic as a backend
// can), and the wrapped NoteStore otherwise.
type Faulty struct {
	routes.NoteStore
	CreateFn func(ctx context.Context, n store.Note) (store.Note, error)
	GetFn    func(ctx context.Context, userID, noteID string) (store.Note, error)
	ListFn   func(ctx context.Context, userID string, limit int, cursor string) (store.Page, error)
	UpdateFn func(ctx context.Context, n store.Note) (store.Note, *string, error)
	DeleteFn func(ctx context.Context, userID, noteID string) (store.Note, error)
}

// Create implements routes.NoteStore.
func (f Faulty) Create(ctx context.Context, n store.Note) (store.Note, error) {
	if f.CreateFn != nil {
		return f.CreateFn(ctx, n)
	}
	return f.NoteStore.Create(ctx, n)
}

// Get implements routes.NoteStore.
func (f Faulty) Get(ctx context.Context, userID, noteID string) (store.Note, error) {
	if f.GetFn != nil {
		return f.GetFn(ctx, userID, noteID)
	}
	return f.NoteStore.Get(ctx, userID, noteID)
}

// List implements routes.NoteStore.
func (f Faulty) List(ctx context.Context, userID string, limit int, cursor string) (store.Page, error) {
	if f.ListFn != nil {
		return f.ListFn(ctx, userID, limit, cursor)
	}
	return f.NoteStore.List(ctx, userID, limit, cursor)
}

// Update implements routes.NoteStore.
func (f Faulty) Update(ctx context.Context, n store.Note) (store.Note, *string, error) {
	if f.UpdateFn != nil {
		return f.UpdateFn(ctx, n)
	}
	return f.NoteStore.Update(ctx, n)
}

// Delete implements routes.NoteStore.
func (f Faulty) Delete(ctx context.Context, userID, noteID string) (store.Note, error) {
	if f.DeleteFn != nil {
		return f.DeleteFn(ctx, userID, noteID)
	}
	return f.NoteStore.Delete(ctx, userID, noteID)
}

// Failing is a Faulty whose operation op ("Create", "Get", "List",
// "Update" or "Delete") returns err before doing anything.
func Failing(s routes.NoteStore, op string, err error) Faulty {
	f := Faulty{NoteStore: s}
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
	default:
		panic("storetest.Failing: no operation " + op)
	}
	return f
}
