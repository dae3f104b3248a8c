package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// The errors OpenBolt returns for a file that must not be
// opened. Neither ever writes to such a file.
var (
	// ErrNotNotes: the file is not a bbolt database (empty, random bytes,
	// another kind of file) or is cut short.
	ErrNotNotes = errors.New("not a notes database")
	// ErrFormat: the file is a database of a format this version does not
	// know: a newer bbolt, or a newer notes store.
	ErrFormat = errors.New("a newer format")
)

// bbolt's file layout, as of its version 2 format: two meta pages first,
// each a 16-byte page header and then magic, version, page size, flags,
// the root bucket (16 bytes), the freelist page, the high-water page id,
// the transaction id and an FNV-1a checksum of what precedes it.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16
	boltMetaLen      = 56 // bytes the checksum covers
	boltHighWaterOff = boltPageHeader + 4 + 4 + 4 + 4 + 16 + 8
)

// checkBoltFile looks at an existing file before bbolt opens it, because
// bbolt trusts what it maps: a file cut short makes it fault on memory
// beyond the end of the file (SIGBUS, which no recover catches), and an
// empty file it silently makes a new database of. A file that does not
// exist is fine (bbolt creates it). It only reads.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case info.IsDir():
		return fmt.Errorf("it is a directory: %w", ErrNotNotes)
	case info.Size() == 0:
		return fmt.Errorf("it is empty: %w", ErrNotNotes)
	}
	first := make([]byte, 4096)
	n, err := io.ReadFull(f, first)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	m0, err := readMeta(first[:n])
	if err != nil {
		return err
	}
	// bbolt keeps two meta pages and uses the valid one with the later
	// transaction: both are read, as bbolt reads them.
	second := make([]byte, boltPageHeader+boltMetaLen+8)
	var m1 boltMeta
	if _, err := f.ReadAt(second, int64(m0.pageSize)); err == nil {
		if m1, err = readMeta(second); err != nil {
			return err
		}
	}
	meta := m0
	switch {
	case m0.valid && m1.valid && m1.txid > m0.txid, !m0.valid && m1.valid:
		meta = m1
	case !m0.valid && !m1.valid:
		return fmt.Errorf("both meta pages are damaged: %w", ErrNotNotes)
	}
	if need := int64(meta.highWater) * int64(meta.pageSize); info.Size() < need {
		return fmt.Errorf("it is cut short: %d bytes of %d: %w", info.Size(), need, ErrNotNotes)
	}
	return nil
}

type boltMeta struct {
	pageSize  uint32
	highWater uint64
	txid      uint64
	valid     bool
}

func readMeta(page []byte) (boltMeta, error) {
	if len(page) < boltPageHeader+boltMetaLen+8 {
		return boltMeta{}, fmt.Errorf("it is %d bytes, too short for a database: %w", len(page), ErrNotNotes)
	}
	le := binary.LittleEndian
	m := page[boltPageHeader:]
	if le.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, fmt.Errorf("it is not a bbolt database: %w", ErrNotNotes)
	}
	if v := le.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d, this program reads %d: %w", v, boltVersion, ErrFormat)
	}
	meta := boltMeta{pageSize: le.Uint32(m[8:]), highWater: le.Uint64(page[boltHighWaterOff:]), txid: le.Uint64(page[boltHighWaterOff+8:])}
	if meta.pageSize < 512 || meta.pageSize > 1<<16 || meta.pageSize&(meta.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("its page size %d is not one bbolt writes: %w", meta.pageSize, ErrNotNotes)
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaLen])
	meta.valid = h.Sum64() == le.Uint64(m[boltMetaLen:])
	return meta, nil
}
