package app

import (
	"context"
	"io"
)

// run is Run with the shipped options, as the tests start the program.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return Run(ctx, args, getenv, stdout, stderr, Options{})
}
