package openai

import (
	"errors"
	"fmt"
	"strings"

	"github.com/semproc/semproc/providers/jsonbody"
	"github.com/semproc/semproc/semantic"
)

// options are the request fields every OpenAI format reads the same way.
type options struct {
	model        string
	stream       bool
	includeUsage bool
}

func readOptions(obj map[string]any) (options, error) {
	var o options
	var ok bool
	switch v := obj["model"].(type) {
	case nil:
	case string:
		o.model = v
	default:
		return o, errors.New("openai: model is not a string")
	}
	if v := obj["stream"]; v != nil {
		if o.stream, ok = v.(bool); !ok {
			return o, errors.New("openai: stream is not a boolean")
		}
	}
	switch v := obj["stream_options"].(type) {
	case nil:
	case map[string]any:
		if u := v["include_usage"]; u != nil {
			if o.includeUsage, ok = u.(bool); !ok {
				return o, errors.New("openai: stream_options.include_usage is not a boolean")
			}
		}
	default:
		return o, errors.New("openai: stream_options is not an object")
	}
	return o, nil
}

// fingerprint hashes obj without the model and the fields that never change
// the answer (SPEC §3), so a streaming and a non-streaming request share
// entries, and so do two users of one tenant. The caller has already taken
// the window out of obj.
func fingerprint(obj map[string]any) (string, error) {
	for _, k := range []string{"model", "stream", "stream_options", "user", "metadata", "store", "service_tier"} {
		delete(obj, k)
	}
	fp, err := semantic.Fingerprint(obj)
	if err != nil {
		return "", fmt.Errorf("openai: fingerprint: %w", err)
	}
	return fp, nil
}

// parseMessages reads a chat messages array.
func parseMessages(v any) ([]semantic.Message, error) {
	if v == nil {
		return nil, errors.New("openai: messages is missing")
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, errors.New("openai: messages is not an array")
	}
	msgs := make([]semantic.Message, len(arr))
	for i, m := range arr {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openai: message %d is not an object", i)
		}
		role, _ := obj["role"].(string)
		if role == "" {
			return nil, fmt.Errorf("openai: message %d has no role", i)
		}
		text, nonText, err := parseContent(obj["content"])
		if err != nil {
			return nil, fmt.Errorf("openai: message %d: %w", i, err)
		}
		msgs[i] = semantic.Message{Role: role, Text: text, NonText: nonText}
	}
	return msgs, nil
}

// parseContent reads a message's content: a string, null (an assistant turn
// that only calls tools) or an array of parts. Text and refusal parts are
// joined with a newline; any other part (image_url, input_audio, file, …)
// is content the cache cannot embed.
func parseContent(v any) (text string, nonText bool, err error) {
	switch c := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return c, false, nil
	case []any:
		texts := make([]string, 0, len(c))
		for i, p := range c {
			part, ok := p.(map[string]any)
			if !ok {
				return "", false, fmt.Errorf("content part %d is not an object", i)
			}
			typ, _ := part["type"].(string)
			switch typ {
			case "":
				return "", false, fmt.Errorf("content part %d has no type", i)
			case "text", "refusal":
				s, ok := part[typ].(string)
				if !ok {
					return "", false, fmt.Errorf("content part %d has no %s string", i, typ)
				}
				texts = append(texts, s)
			default:
				nonText = true
			}
		}
		return strings.Join(texts, "\n"), nonText, nil
	default:
		return "", false, errors.New("content is neither a string, null nor an array")
	}
}

// decodeObject reads a request body as one JSON object, numbers as written.
func decodeObject(body []byte) (map[string]any, error) {
	obj, err := jsonbody.DecodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	return obj, nil
}

// setModel replaces the body's model, every other byte kept.
func setModel(body []byte, model string) ([]byte, error) {
	b, err := jsonbody.SetModel(body, model)
	if err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	return b, nil
}
