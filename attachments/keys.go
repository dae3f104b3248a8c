package attachments

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxKeyBytes is S3's limit on an object key; maxSegmentBytes the longest
// file name most file systems keep.
const (
	maxKeyBytes     = 1024
	maxSegmentBytes = 255
)

// CheckKey is the rule for object keys: what the bucket keeps as a file
// of ours. A key is /-separated segments, none empty, "." or "..", with
// no \, NUL or other control character, valid UTF-8, at most 1,024 bytes
// and 255 a segment. The API applies it before it signs anything, the
// local files endpoint to every request.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("the key is empty")
	case len(key) > maxKeyBytes:
		return fmt.Errorf("the key is longer than %d bytes", maxKeyBytes)
	case !utf8.ValidString(key):
		return errors.New("the key is not UTF-8")
	case strings.ContainsFunc(key, unicode.IsControl):
		return errors.New("the key has a control character")
	case strings.Contains(key, `\`):
		return errors.New(`the key has a \`)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return errors.New("the key has an empty segment (a leading, trailing or double /)")
		case seg == "." || seg == "..":
			return errors.New("the key has a . or .. segment")
		case len(seg) > maxSegmentBytes:
			return fmt.Errorf("a segment of the key is longer than %d bytes", maxSegmentBytes)
		}
	}
	return nil
}

// fileName is the name a download is saved as: the key's last segment
// without the "<epoch ms>-" the API puts in front.
func fileName(key string) string {
	name := path.Base(key)
	if i := strings.IndexByte(name, '-'); i == 13 && strings.Trim(name[:i], "0123456789") == "" {
		name = name[i+1:]
	}
	return name
}

// contentDisposition makes every download a download, never a page
// (RFC 6266): attachment, the file name as ASCII for any client, and as
// UTF-8 in RFC 8187's filename* when it is not ASCII.
func contentDisposition(name string) string {
	var ascii strings.Builder
	plain := true
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r == '%' || r < 0x20 || r == 0x7f:
			ascii.WriteByte('_')
		case r >= utf8.RuneSelf:
			ascii.WriteByte('_')
			plain = false
		default:
			ascii.WriteRune(r)
		}
	}
	d := `attachment; filename="` + ascii.String() + `"`
	if !plain {
		d += "; filename*=UTF-8''" + extValue(name)
	}
	return d
}

// extValue percent-encodes s as RFC 8187's value-chars: every byte but
// its attr-chars.
func extValue(s string) string {
	return percentEncode(s, func(c byte) bool { return strings.IndexByte("!#$&+-.^_`|~", c) >= 0 })
}

// percentEncode writes every byte of s as %XX but ASCII letters and
// digits and those keep keeps.
func percentEncode(s string, keep func(c byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || keep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// passiveTypes are the media types a download is served as, by the file
// name's extension: kinds of file a browser never runs. Anything else,
// and every active type (HTML, XHTML, SVG, XML, JavaScript and the like),
// is application/octet-stream.
var passiveTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
	".avif": "image/avif", ".heic": "image/heic", ".bmp": "image/bmp", ".pdf": "application/pdf",
	".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8", ".md": "text/markdown; charset=utf-8",
	".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".wav": "audio/wav", ".mp4": "video/mp4", ".mov": "video/quicktime",
	".webm": "video/webm", ".zip": "application/zip", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

// DownloadHeaders are the Content-Type and Content-Disposition a
// download of key is served with: attachment with the key's file name,
// and the type it was stored with when that is a passive one, else the
// type of its extension (application/octet-stream for anything active or
// unknown). Never a type guessed from the content.
func DownloadHeaders(key, storedType string) (contentType, disposition string) {
	name := fileName(key)
	contentType = downloadType(name)
	if isPassive(storedType) {
		contentType = storedType
	}
	return contentType, contentDisposition(name)
}

// isPassive reports whether a stored type is one a browser never runs.
func isPassive(t string) bool {
	mt, _, _ := strings.Cut(t, ";")
	for _, p := range passiveTypes {
		if pt, _, _ := strings.Cut(p, ";"); strings.EqualFold(strings.TrimSpace(mt), pt) {
			return true
		}
	}
	return false
}

// downloadType is the type a download of name is served as.
func downloadType(name string) string {
	if t, ok := passiveTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}
