package admin

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// kvListAnswer is GET /apps/{app}/kv: one page of keys, the cursor of
// the next page ("" on the last), and the app's usage and quota.
type kvListAnswer struct {
	Items  []models.KVEntry `json:"items"`
	Cursor string           `json:"cursor"`
	Usage  models.KVUsage   `json:"usage"`
	Quota  models.KVQuota   `json:"quota"`
}

// kvEntryView is one key with its value: Value when the value is UTF-8
// text, ValueBase64 always.
type kvEntryView struct {
	models.KVEntry
	Value       *string `json:"value"`
	ValueBase64 string  `json:"value_base64"`
}

// putKVInput is PUT /apps/{app}/kv/{key}: the value as text or base64
// (one of them), and an optional lifetime.
type putKVInput struct {
	Value       *string `json:"value"`
	ValueBase64 *string `json:"value_base64"`
	// TTLSeconds, when positive, makes the key expire that long from now.
	TTLSeconds int64 `json:"ttl_seconds"`
}

// maxKVTTL bounds ttl_seconds (ten years).
const maxKVTTL = 10 * 365 * 24 * time.Hour

func (a *API) listKV(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	args := rc.QueryArgs()
	limit := 0
	if s := string(args.Peek("limit")); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > models.MaxKVListLimit {
			return invalid("limit", "must be a whole number from 1 to %d, got %q", models.MaxKVListLimit, s)
		}
	}
	now := a.now()
	items, cursor, err := a.db.KVList(ctx, app.ID, string(args.Peek("prefix")), string(args.Peek("cursor")), limit, now)
	if err != nil {
		return err
	}
	usage, err := a.db.KVUsage(ctx, app.ID, now)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, kvListAnswer{Items: items, Cursor: cursor, Usage: usage, Quota: app.Settings.KVQuota(a.kvQuota)})
	return nil
}

// kvKey is the key of /apps/{app}/kv/{key}, percent-decoded: the router
// matches the path as sent, so a key with a space, '?', '#' or '%' in it
// arrives escaped (as URLs must carry it) and is stored unescaped, as a
// script names it.
func kvKey(rc *fasthttp.RequestCtx) (string, error) {
	raw, _ := rc.UserValue("key").(string)
	key, err := url.PathUnescape(raw)
	if err != nil {
		return "", invalid("key", "is not a valid percent-encoded path: %v", err)
	}
	return key, nil
}

func (a *API) getKV(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	key, err := kvKey(rc)
	if err != nil {
		return err
	}
	e, err := a.db.KVEntry(ctx, app.ID, key, a.now())
	if err != nil {
		return err
	}
	view := kvEntryView{KVEntry: *e, ValueBase64: base64.StdEncoding.EncodeToString(e.Value)}
	if utf8.Valid(e.Value) {
		s := string(e.Value)
		view.Value = &s
	}
	a.reply(rc, fasthttp.StatusOK, view)
	return nil
}

func (a *API) putKV(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	key, err := kvKey(rc)
	if err != nil {
		return err
	}
	var in putKVInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	var value []byte
	switch {
	case in.Value != nil && in.ValueBase64 != nil:
		return invalid("value", "give value or value_base64, not both")
	case in.Value != nil:
		value = []byte(*in.Value)
	case in.ValueBase64 != nil:
		if value, err = base64.StdEncoding.DecodeString(*in.ValueBase64); err != nil {
			return invalid("value_base64", "is not standard base64: %v", err)
		}
	default:
		return invalid("value", "is required (or value_base64 for binary values)")
	}
	now := a.now()
	var expires *time.Time
	switch ttl := time.Duration(in.TTLSeconds) * time.Second; {
	case in.TTLSeconds < 0 || ttl > maxKVTTL:
		return invalid("ttl_seconds", "must be from 1 to %d seconds, or 0 for no expiry", int64(maxKVTTL/time.Second))
	case in.TTLSeconds > 0:
		t := now.Add(ttl)
		expires = &t
	}
	if err := a.db.KVSet(ctx, app.ID, key, value, expires, a.kvQuota, now); err != nil {
		return err
	}
	e, err := a.db.KVEntry(ctx, app.ID, key, now)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, e)
	return nil
}

func (a *API) deleteKV(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	key, err := kvKey(rc)
	if err != nil {
		return err
	}
	deleted, err := a.db.KVDelete(ctx, app.ID, key, a.now())
	if err != nil {
		return err
	}
	if !deleted {
		return notFoundf("kv key %q", key)
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
