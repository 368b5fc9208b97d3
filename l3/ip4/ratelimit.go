package ip4

// RateLimit is a token bucket's shape: Rate tokens a second, at most Burst
// saved up. Zero fields take the default of whoever uses it.
type RateLimit struct {
	Rate  int // tokens per second
	Burst int // bucket depth
}

// orDefault fills zero (or negative) fields from def.
func (r RateLimit) orDefault(def RateLimit) RateLimit {
	if r.Rate <= 0 {
		r.Rate = def.Rate
	}
	if r.Burst <= 0 {
		r.Burst = def.Burst
	}
	return r
}

// tokenBucket is one worker's rate limiter, on the graph clock (ns). It is
// refilled once per vector and taken from once per packet.
type tokenBucket struct {
	tokens float64
	perNs  float64
	burst  float64
	last   int64
}

// newBucket returns a full bucket shaped by r at time now.
func newBucket(r RateLimit, now int64) tokenBucket {
	return tokenBucket{tokens: float64(r.Burst), perNs: float64(r.Rate) / 1e9, burst: float64(r.Burst), last: now}
}

// refill adds the tokens earned since the last refill.
func (b *tokenBucket) refill(now int64) {
	if now > b.last {
		b.tokens = min(b.burst, b.tokens+float64(now-b.last)*b.perNs)
	}
	b.last = now
}

// take spends a token, reporting false when there is none.
func (b *tokenBucket) take() bool {
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
