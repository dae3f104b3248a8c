// Command bare is the throughput baseline of make bench: a bare net/http
// handler on 127.0.0.1:$PORT answering every request with a fixed note,
// as the API's local server answers GET /notes/{id}.
package main

import (
	"net/http"
	"os"
)

func main() {
	note := []byte(`{"userId":"local-user","noteId":"0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e","content":"hello","attachment":null,"createdAt":1603846842984}` + "\n")
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(note)
	}))
}
