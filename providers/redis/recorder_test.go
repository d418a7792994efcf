package redisstore

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// replyError is an error reply as the server sends it (go-redis's own type
// is internal; this one satisfies redis.Error the same way).
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

var _ redis.Error = replyError("")

// reply is a scripted answer to one command.
type reply struct {
	val any
	err error
}

// recorder is a go-redis hook that records every command's arguments and
// answers from a script instead of sending anything: the tests that use it
// check what semproc would send and how it reads documented replies.
type recorder struct {
	mu      sync.Mutex
	sent    []string
	replies map[string][]reply // by command name, answered in order
}

var _ redis.Hook = (*recorder)(nil)

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.answer(cmd)
		return cmd.Err()
	}
}

func (r *recorder) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var first error
		for _, c := range cmds {
			r.answer(c)
			if c.Err() != nil && first == nil {
				first = c.Err()
			}
		}
		return first
	}
}

func (r *recorder) answer(cmd redis.Cmder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, join(cmd.Args()))
	name := strings.ToUpper(cmd.Name())
	queue := r.replies[name]
	if len(queue) == 0 {
		return
	}
	rep := queue[0]
	r.replies[name] = queue[1:]
	c, ok := cmd.(*redis.Cmd)
	switch {
	case rep.err != nil:
		cmd.SetErr(rep.err)
	case ok:
		c.SetVal(rep.val)
	}
}

// commands returns what was sent since the last call.
func (r *recorder) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent := r.sent
	r.sent = nil
	return sent
}

// scriptedStore is a ready store whose client talks only to a recorder.
func scriptedStore(t *testing.T, opts Options, replies map[string][]reply) (*Store, *recorder) {
	t.Helper()
	opts.URL = "redis://127.0.0.1:1"
	if opts.Model == "" {
		opts.Model = "m"
	}
	if opts.Dimension == 0 {
		opts.Dimension = 2
	}
	s, err := newStore(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	rec := &recorder{replies: replies}
	s.client.AddHook(rec)
	s.setState(nil)
	return s, rec
}
