package semantic

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Window picks the text the cache embeds: the last countback non-system
// messages. With one message it is the text alone; with several, "role:
// text" blocks joined by a blank line. indexes are the positions in msgs of
// the messages it took (they are left out of the fingerprint). bypass is not
// empty when a message of the window carries non-text content, or when there
// is no message to embed.
func Window(msgs []Message, countback int) (text string, indexes []int, bypass string) {
	if countback < 1 {
		countback = 1
	}
	for i := len(msgs) - 1; i >= 0 && len(indexes) < countback; i-- {
		if msgs[i].Role == "system" || msgs[i].Role == "developer" {
			continue
		}
		indexes = append(indexes, i)
	}
	if len(indexes) == 0 {
		return "", nil, "no message to embed"
	}
	// indexes were collected newest first.
	for l, r := 0, len(indexes)-1; l < r; l, r = l+1, r-1 {
		indexes[l], indexes[r] = indexes[r], indexes[l]
	}
	for _, i := range indexes {
		if msgs[i].NonText {
			return "", indexes, "non-text content in the window"
		}
	}
	if len(indexes) == 1 {
		return msgs[indexes[0]].Text, indexes, ""
	}
	blocks := make([]string, len(indexes))
	for k, i := range indexes {
		blocks[k] = msgs[i].Role + ": " + msgs[i].Text
	}
	return strings.Join(blocks, "\n\n"), indexes, ""
}

// Fingerprint hashes the canonical JSON of v: objects with sorted keys, no
// insignificant white space, numbers as written. Formats pass the request
// body with the window, the model and the fields that never change the
// answer removed. Decode v with json.Decoder.UseNumber so 1 and 1.0 stay
// distinct as the client wrote them.
func Fingerprint(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// WindowStub is what a window message leaves in the fingerprint: the
// message object without its content. The text is embedded, not hashed,
// but its role (a user question or an assistant prefill) and any other
// field still decide which answer fits. m is a decoded JSON object;
// anything else is returned as is.
func WindowStub(m any) any {
	obj, ok := m.(map[string]any)
	if !ok {
		return m
	}
	stub := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "content" {
			stub[k] = v
		}
	}
	return stub
}
