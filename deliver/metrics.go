package deliver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a worker's Prometheus counters, registered on the server's
// registry (served at /metrics).
type Metrics struct {
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	leasedN  prometheus.Counter
	lost     *prometheus.CounterVec
}

// NewMetrics makes the delivery metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_delivery_attempts_total",
			Help: "Delivery attempts by channel and outcome (sent, retry, dead).",
		}, []string{"channel", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "muster_delivery_attempt_duration_seconds",
			Help:    "Time of one delivery attempt, by channel.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		leasedN: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "muster_delivery_leased_total",
			Help: "Messages leased from the outbox by this instance.",
		}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_delivery_lost_leases_total",
			Help: "Attempts whose outcome could not be recorded because the lease had been taken over (the message may be sent twice, with one idempotency key).",
		}, []string{"channel"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.duration, m.leasedN, m.lost} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) attempt(channel, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(channel, outcome).Inc()
	m.duration.WithLabelValues(channel).Observe(took.Seconds())
}

func (m *Metrics) leased(n int) {
	if m != nil && n > 0 {
		m.leasedN.Add(float64(n))
	}
}

func (m *Metrics) lostLease(channel string) {
	if m != nil {
		m.lost.WithLabelValues(channel).Inc()
	}
}
