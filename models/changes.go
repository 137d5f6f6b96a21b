package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// ChangesChannel is the PostgreSQL channel change notifications go to:
// a trigger on apps (migration 0008) sends the app's id, in the
// transaction of every change to what the app serves, so other processes
// on the database hear of it once it is committed.
const ChangesChannel = "picloud_changes"

// ChangeFeed is a connection of its own that listens on ChangesChannel.
// It is not safe for concurrent use.
type ChangeFeed struct {
	conn *pgx.Conn
}

// ListenChanges opens a connection outside the pool and listens for
// change notifications on it. On SQLite, where one process owns the
// database and nobody else writes, it returns errors.ErrUnsupported.
func (db *DB) ListenChanges(ctx context.Context) (*ChangeFeed, error) {
	if db.dialect != DialectPostgres {
		return nil, fmt.Errorf("listen for changes on %s: %w", db.dialect, errors.ErrUnsupported)
	}
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		return nil, fmt.Errorf("listen for changes: connect to %s: %w", redact(db.dsn), err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("listen for changes: %w", err)
	}
	return &ChangeFeed{conn: conn}, nil
}

// Next waits for the next change and returns the id of the app it
// changed. An error means the connection is gone (or ctx ended): close
// the feed and listen again, then catch up from the database, since what
// was committed in between was not heard.
func (f *ChangeFeed) Next(ctx context.Context) (int64, error) {
	for {
		n, err := f.conn.WaitForNotification(ctx)
		if err != nil {
			return 0, fmt.Errorf("wait for a change notification: %w", err)
		}
		if n.Channel != ChangesChannel {
			continue
		}
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			// Not ours to act on; the periodic resync covers whatever it was.
			continue
		}
		return id, nil
	}
}

// PID is the PostgreSQL backend process of the feed's connection, for
// logs and for tests that cut the connection the way an outage does.
func (f *ChangeFeed) PID() uint32 { return f.conn.PgConn().PID() }

// Close closes the feed's connection.
func (f *ChangeFeed) Close(ctx context.Context) error {
	return f.conn.Close(ctx)
}
