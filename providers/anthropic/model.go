package anthropic

import (
	"fmt"

	"github.com/semproc/semproc/providers/jsonbody"
)

// SetModel implements semantic.Format. It splices the new value over the
// old one, so every other byte of the body stays as the client wrote it.
func (Messages) SetModel(body []byte, model string) ([]byte, error) {
	b, err := jsonbody.SetModel(body, model)
	if err != nil {
		return nil, fmt.Errorf("anthropic set model: %w", err)
	}
	return b, nil
}
