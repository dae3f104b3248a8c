package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// rootBucket holds one nested bucket per user, keyed by note id. UUIDv7 ids
// sort by creation time, so the reverse key order is newest first.
// purchasesBucket holds one nested bucket per user, keyed by purchase id:
// beside the notes, never among them.
var (
	rootBucket      = []byte("notes")
	purchasesBucket = []byte("purchases")
	// ownersBucket maps a purchase id to its user: Stripe's refunds and
	// disputes name the purchase, not whose it is.
	ownersBucket = []byte("purchase-owners")
)

// boltRecord is a note as the bbolt file holds it: JSON, with the field
// names the first version of the file used. Change it only with a
// migration of existing files.
type boltRecord struct {
	UserID     string  `json:"userId"`
	NoteID     string  `json:"noteId"`
	Content    string  `json:"content"`
	Attachment *string `json:"attachment"`
	CreatedAt  int64   `json:"createdAt"`
	UpdatedAt  int64   `json:"updatedAt,omitempty"`
}

func encodeBolt(n Note) ([]byte, error) { return json.Marshal(boltRecord(n)) }

func decodeBolt(v []byte) (Note, error) {
	var r boltRecord
	err := json.Unmarshal(v, &r)
	return Note(r), err
}

// Bolt is the embedded store: one bbolt file on local disk. bbolt
// serialises writers, so it is safe for concurrent use; a write that
// fails is rolled back whole.
type Bolt struct {
	db *bolt.DB
}

// metaBucket holds the file's format, boltFormat: a later version that
// changes how notes are kept raises it, and this one then refuses the file
// instead of misreading it.
var (
	metaBucket = []byte("meta")
	formatKey  = []byte("format")
)

const boltFormat = "1"

// The errors OpenBolt returns, besides ErrNotNotes and ErrFormat, for a
// file it will not use. It never writes to such a file.
var (
	// ErrLocked: another process has the file open.
	ErrLocked = errors.New("in use by another process")
	// ErrUnwritable: the file cannot be opened, or created, for writing.
	ErrUnwritable = errors.New("cannot be opened or created")
)

// lockTimeout is how long OpenBolt waits for another process to let go of
// the file before it gives up with ErrLocked.
const lockTimeout = time.Second

// OpenBolt opens (or creates) the embedded store's file at path. A file it
// must not use is refused before anything is written to it, with an error
// that wraps ErrLocked, ErrUnwritable, ErrNotNotes (not a notes database,
// or cut short) or ErrFormat (written by a newer version). Close the store
// when done.
func OpenBolt(path string) (*Bolt, error) {
	if err := checkBoltFile(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("%w (%w)", ErrLocked, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EROFS):
		return nil, fmt.Errorf("%w (%w)", ErrUnwritable, err)
	case errors.Is(err, bolterrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%w (%w)", ErrFormat, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("%w (%w)", ErrNotNotes, err)
	case err != nil:
		return nil, err
	}
	s, err := newBolt(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the file.
func (b *Bolt) Close() error { return b.db.Close() }

// newBolt prepares an open bbolt database for notes. A file of a newer
// format is ErrFormat, and is not written to.
func newBolt(db *bolt.DB) (*Bolt, error) {
	err := db.View(func(tx *bolt.Tx) error {
		if mb := tx.Bucket(metaBucket); mb != nil {
			if f := mb.Get(formatKey); string(f) != boltFormat {
				return fmt.Errorf("notes store format %q, this program reads %q: %w", f, boltFormat, ErrFormat)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if mb.Get(formatKey) == nil {
			if err := mb.Put(formatKey, []byte(boltFormat)); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucketIfNotExists(rootBucket); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(purchasesBucket); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(ownersBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bolt create buckets: %w", err)
	}
	return &Bolt{db: db}, nil
}

// Create implements routes.NoteStore.
func (b *Bolt) Create(ctx context.Context, n Note) (Note, error) {
	if err := ctx.Err(); err != nil {
		return Note{}, err
	}
	if n.UserID == "" || n.NoteID == "" {
		return Note{}, errors.New("bolt create note: empty user or note id")
	}
	v, err := encodeBolt(n)
	if err != nil {
		return Note{}, fmt.Errorf("bolt encode note %s: %w", n.NoteID, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		ub, err := tx.Bucket(rootBucket).CreateBucketIfNotExists([]byte(n.UserID))
		if err != nil {
			return err
		}
		if ub.Get([]byte(n.NoteID)) != nil {
			return ErrConflict
		}
		return ub.Put([]byte(n.NoteID), v)
	})
	if err != nil {
		return Note{}, fmt.Errorf("bolt create note %s: %w", n.NoteID, err)
	}
	return n, nil
}

// Get implements routes.NoteStore.
func (b *Bolt) Get(ctx context.Context, userID, noteID string) (Note, error) {
	if err := ctx.Err(); err != nil {
		return Note{}, err
	}
	var n Note
	err := b.db.View(func(tx *bolt.Tx) error {
		v := userBucketGet(tx, userID, noteID)
		if v == nil {
			return ErrNotFound
		}
		var err error
		n, err = decodeBolt(v)
		return err
	})
	if err != nil {
		return Note{}, fmt.Errorf("bolt get note %s: %w", noteID, err)
	}
	return n, nil
}

// List implements routes.NoteStore.
func (b *Bolt) List(ctx context.Context, userID string, limit int, cursor string) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	if limit <= 0 {
		return Page{}, fmt.Errorf("bolt list: limit %d must be positive", limit)
	}
	var after string
	if cursor != "" {
		var err error
		if after, err = decodeCursor(userID, cursor); err != nil {
			return Page{}, err
		}
	}
	page := Page{Notes: []Note{}}
	err := b.db.View(func(tx *bolt.Tx) error {
		ub := tx.Bucket(rootBucket).Bucket([]byte(userID))
		if ub == nil {
			return nil
		}
		c := ub.Cursor()
		var k, v []byte
		if after == "" {
			k, v = c.Last()
		} else {
			// Seek lands on after itself, or on the next larger key when
			// after has been deleted since; either way step back once.
			if k, _ = c.Seek([]byte(after)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			if len(page.Notes) == limit {
				page.Next = encodeCursor(userID, page.Notes[limit-1].NoteID)
				return nil
			}
			n, err := decodeBolt(v)
			if err != nil {
				return fmt.Errorf("decode note %s: %w", k, err)
			}
			page.Notes = append(page.Notes, n)
		}
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("bolt list notes: %w", err)
	}
	return page, nil
}

// Update implements routes.NoteStore: it replaces content and attachment
// and sets UpdatedAt, never creating a note.
func (b *Bolt) Update(ctx context.Context, n Note) (Note, *string, error) {
	if err := ctx.Err(); err != nil {
		return Note{}, nil, err
	}
	var (
		updated  Note
		replaced *string
	)
	err := b.db.Update(func(tx *bolt.Tx) error {
		v := userBucketGet(tx, n.UserID, n.NoteID)
		if v == nil {
			return ErrNotFound
		}
		var err error
		if updated, err = decodeBolt(v); err != nil {
			return err
		}
		replaced = updated.Attachment
		updated.Content = n.Content
		updated.Attachment = n.Attachment
		updated.UpdatedAt = n.UpdatedAt
		nv, err := encodeBolt(updated)
		if err != nil {
			return err
		}
		return tx.Bucket(rootBucket).Bucket([]byte(n.UserID)).Put([]byte(n.NoteID), nv)
	})
	if err != nil {
		return Note{}, nil, fmt.Errorf("bolt update note %s: %w", n.NoteID, err)
	}
	return updated, replaced, nil
}

// Delete implements routes.NoteStore and returns the note as it was.
func (b *Bolt) Delete(ctx context.Context, userID, noteID string) (Note, error) {
	if err := ctx.Err(); err != nil {
		return Note{}, err
	}
	var old Note
	err := b.db.Update(func(tx *bolt.Tx) error {
		v := userBucketGet(tx, userID, noteID)
		if v == nil {
			return ErrNotFound
		}
		var err error
		if old, err = decodeBolt(v); err != nil {
			return err
		}
		return tx.Bucket(rootBucket).Bucket([]byte(userID)).Delete([]byte(noteID))
	})
	if err != nil {
		return Note{}, fmt.Errorf("bolt delete note %s: %w", noteID, err)
	}
	return old, nil
}

// userBucketGet returns the stored value of one note, or nil. The value is
// only valid inside tx.
func userBucketGet(tx *bolt.Tx, userID, noteID string) []byte {
	if userID == "" || noteID == "" || len(noteID) > bolt.MaxKeySize {
		return nil
	}
	ub := tx.Bucket(rootBucket).Bucket([]byte(userID))
	if ub == nil {
		return nil
	}
	return ub.Get([]byte(noteID))
}

// boltPurchase is a purchase as the bbolt file holds it. A purchase
// written before purchases had a life has no "paid": it was paid.
type boltPurchase struct {
	UserID    string `json:"userId"`
	ID        string `json:"id"`
	Paid      *bool  `json:"paid,omitempty"`
	Storage   int64  `json:"storage"`
	Amount    int64  `json:"amount"`
	CreatedAt int64  `json:"createdAt"`
	Refunded  int64  `json:"refunded,omitempty"`
	Dispute   string `json:"dispute,omitempty"`
}

func toBoltPurchase(p Purchase) boltPurchase {
	return boltPurchase{UserID: p.UserID, ID: p.ID, Paid: &p.Paid, Storage: p.Storage, Amount: p.Amount,
		CreatedAt: p.CreatedAt, Refunded: p.Refunded, Dispute: p.Dispute}
}

func (r boltPurchase) purchase() Purchase {
	return Purchase{UserID: r.UserID, ID: r.ID, Paid: r.Paid == nil || *r.Paid, Storage: r.Storage, Amount: r.Amount,
		CreatedAt: r.CreatedAt, Refunded: r.Refunded, Dispute: r.Dispute}
}

// ApplyPurchase implements routes.PurchaseStore: it reads the purchase,
// applies c and writes it back in one transaction, and keeps its owner.
func (b *Bolt) ApplyPurchase(ctx context.Context, c PurchaseChange) (Purchase, bool, error) {
	if err := ctx.Err(); err != nil {
		return Purchase{}, false, err
	}
	if c.UserID == "" || c.ID == "" || len(c.ID) > bolt.MaxKeySize || len(c.UserID) > bolt.MaxKeySize {
		return Purchase{}, false, errors.New("bolt apply purchase: empty or oversized user or purchase id")
	}
	var (
		out     Purchase
		changed bool
	)
	err := b.db.Update(func(tx *bolt.Tx) error {
		ub, err := tx.Bucket(purchasesBucket).CreateBucketIfNotExists([]byte(c.UserID))
		if err != nil {
			return err
		}
		p := Purchase{UserID: c.UserID, ID: c.ID}
		v := ub.Get([]byte(c.ID))
		if v != nil {
			var r boltPurchase
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode purchase %s: %w", c.ID, err)
			}
			p = r.purchase()
		}
		out, changed = p.Apply(c)
		changed = changed || v == nil
		if !changed {
			return nil
		}
		enc, err := json.Marshal(toBoltPurchase(out))
		if err != nil {
			return err
		}
		if err := ub.Put([]byte(c.ID), enc); err != nil {
			return err
		}
		return tx.Bucket(ownersBucket).Put([]byte(c.ID), []byte(c.UserID))
	})
	if err != nil {
		return Purchase{}, false, fmt.Errorf("bolt apply purchase %s: %w", c.ID, err)
	}
	return out, changed, nil
}

// PurchaseOwner implements routes.PurchaseStore: whose purchase id is, as
// its first change said; ErrNotFound when no change named it.
func (b *Bolt) PurchaseOwner(ctx context.Context, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var owner string
	err := b.db.View(func(tx *bolt.Tx) error {
		if id == "" || len(id) > bolt.MaxKeySize {
			return ErrNotFound
		}
		v := tx.Bucket(ownersBucket).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		owner = string(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("bolt purchase owner %s: %w", id, err)
	}
	return owner, nil
}

// ListPurchases implements routes.PurchaseStore: every purchase of the
// user, newest first.
func (b *Bolt) ListPurchases(ctx context.Context, userID string) ([]Purchase, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []Purchase{}
	err := b.db.View(func(tx *bolt.Tx) error {
		ub := tx.Bucket(purchasesBucket).Bucket([]byte(userID))
		if ub == nil || userID == "" {
			return nil
		}
		return ub.ForEach(func(k, v []byte) error {
			var r boltPurchase
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode purchase %s: %w", k, err)
			}
			out = append(out, r.purchase())
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt list purchases: %w", err)
	}
	sortPurchases(out)
	return out, nil
}

// Count implements routes.NoteStore: how many notes the user has, and
// how many of them name an attachment, read in one transaction.
func (b *Bolt) Count(ctx context.Context, userID string) (notes, attachments int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	err = b.db.View(func(tx *bolt.Tx) error {
		ub := tx.Bucket(rootBucket).Bucket([]byte(userID))
		if ub == nil || userID == "" {
			return nil
		}
		return ub.ForEach(func(k, v []byte) error {
			var r struct {
				Attachment *string `json:"attachment"`
			}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode note %s: %w", k, err)
			}
			notes++
			if r.Attachment != nil {
				attachments++
			}
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("bolt count notes: %w", err)
	}
	return notes, attachments, nil
}
