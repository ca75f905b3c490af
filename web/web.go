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

// Register serves the demo page at exactly "/" and each embedded asset at
// its own route under "/assets/". Nothing else is registered, so every other
// path, an unknown asset or the bare "/assets/" included, is the mux's 404
// (with the gateway's JSON body): no directory is ever listed.
func Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	}))
	// WalkDir over an embed.FS of files known at build time cannot fail.
	_ = fs.WalkDir(files, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		mux.Handle("GET /"+name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, files, name)
		}))
		return nil
	})
}
