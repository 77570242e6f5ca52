package transfer

import (
	"context"
	"io"
)

// read is readFile keeping the objects' property maps, which the tests of reading inspect.
func read(ctx context.Context, r io.Reader) (*file, error) {
	return readFile(ctx, r, true)
}
