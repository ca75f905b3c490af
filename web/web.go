// Package web is the browser client: a small reusable ES module
// (assets/client.js) and a demo page (index.html) on top of it, embedded in
// the binary. It owns nothing else.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed index.html assets
var files embed.FS

// Register serves the demo page at exactly "/" and its files under
// "/assets/"; every other path is left to the mux (404).
func Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	}))
	assets, _ := fs.Sub(files, "assets") // cannot fail: "assets" is embedded
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
}
