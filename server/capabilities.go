package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/fetch"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/schedule"
	"github.com/picloud/picloud/scripthost"
	"github.com/picloud/picloud/secrets"
)

const (
	// kvPurgeInterval is how often expired keys are deleted.
	kvPurgeInterval = time.Minute
	// firingTimeout bounds the wait for one schedule firing's answer;
	// the script's own time budget ends it first.
	firingTimeout = 15 * time.Minute
	// soloSchedulePoll is how often the scheduler of a server alone on its
	// database (SQLite) looks for schedules it was not told about. Every
	// schedule is made through this server's admin API, which wakes the
	// scheduler, and the scheduler sleeps until the next firing it knows
	// of; the 1 s poll of a shared database (other nodes make schedules)
	// would only wake an idle server every second.
	soloSchedulePoll = time.Minute
)

// capabilities are the services behind SDK v2: the stores and clients the
// Host of each script call reaches, the scheduler and the KV janitor.
type capabilities struct {
	logger    *slog.Logger
	db        *models.DB
	kvQuota   models.KVQuota
	secrets   *secrets.Store
	fetch     *fetch.Client
	hosts     *scripthost.Provider
	scheduler *schedule.Scheduler
	// deployer runs the calls of picloud.Invoke and of schedules; set
	// once it exists, before anything is served.
	deployer *deploy.Deployer
}

// newCapabilities builds them; resolver and dial are picloud.Fetch's
// network (nil: the real one).
func newCapabilities(ctx context.Context, cfg *config.Config, db *models.DB, logger *slog.Logger,
	resolver fetch.Resolver, dial fetch.DialFunc) (*capabilities, error) {
	ring, created, err := secrets.Load(cfg.DataDir, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if created {
		logger.Info("made a key for app secrets; back it up (a cluster's nodes need the same key: set PICLOUD_SECRET_KEY)",
			"file", cfg.DataDir+"/"+secrets.KeyFileName)
	}
	c := &capabilities{
		logger:  logger,
		db:      db,
		kvQuota: models.KVQuota{MaxKeys: int64(cfg.KV.MaxKeys), MaxBytes: cfg.KV.MaxBytes},
		secrets: secrets.NewStore(db, ring),
	}
	if n, err := c.secrets.Reseal(ctx); n > 0 || err != nil {
		logger.Info("resealed secrets under the current key", "secrets", n, "key", ring.CurrentID(), "err", err)
	}
	c.fetch = fetch.New(fetch.Options{
		AllowPrivate:    cfg.Server.FetchAllowPrivate,
		Timeout:         cfg.Server.FetchTimeout,
		MaxResponseBody: cfg.Server.FetchMaxResponseBody,
		MaxConcurrency:  cfg.Server.FetchMaxConcurrency,
		Resolver:        resolver,
		Dial:            dial,
	})
	c.hosts = scripthost.New(scripthost.Options{
		DB: db, Secrets: c.secrets, Fetch: c.fetch, KVQuota: c.kvQuota, Logger: logger,
		Invoke: func(ctx context.Context, call deploy.Call) actors.Result { return c.deployer.Invoke(ctx, call) },
	})
	poll := schedule.DefaultPoll
	if db.Dialect() == models.DialectSQLite {
		poll = soloSchedulePoll
	}
	c.scheduler = schedule.New(db, c.fire, schedule.Options{Logger: logger, Poll: poll})
	return c, nil
}

// fire runs one firing of a schedule: its script, through its app's
// router, with trigger "schedule".
func (c *capabilities) fire(ctx context.Context, s models.Schedule, at time.Time) {
	ctx, cancel := context.WithTimeout(ctx, firingTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{
		"schedule_id": s.ID, "cron": s.Cron, "timezone": s.Timezone, "scheduled_time": at.UTC().Format(time.RFC3339),
	})
	res := c.deployer.Invoke(ctx, deploy.Call{AppID: s.AppID, ScriptID: s.ScriptID, Request: &actors.Request{
		Method: "POST", Path: "/", Host: "schedule",
		RequestID: "sched-" + strconv.FormatInt(s.ID, 10) + "-" + strconv.FormatInt(at.Unix(), 10),
		Headers:   []actors.Header{{Name: "Content-Type", Value: "application/json"}},
		Body:      body,
		Trigger:   sdk.TriggerSchedule,
	}})
	if res.ErrCode != "" {
		c.logger.Warn("schedule firing failed", "schedule", s.ID, "script", s.ScriptID, "app", s.AppID,
			"code", res.ErrCode, "err", res.ErrMessage)
	}
}

func (c *capabilities) purgeKV(ctx context.Context) {
	t := time.NewTicker(kvPurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := c.db.PurgeExpiredKV(ctx, time.Now()); err != nil && ctx.Err() == nil {
				c.logger.Warn("purge expired kv keys", "err", err)
			} else if n > 0 {
				c.logger.Debug("purged expired kv keys", "keys", n)
			}
		}
	}
}
