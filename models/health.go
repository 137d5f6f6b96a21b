package models

import (
	"context"
	"fmt"

	"github.com/picloud/picloud/migrations"
)

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.bun.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", db.dialect, err)
	}
	return nil
}

// PendingMigrations names the migrations this binary knows that the
// database has not applied; none means the schema is what the code
// expects.
func (db *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	status, err := migrations.Status(ctx, db.bun)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, m := range status {
		if !m.Applied {
			pending = append(pending, m.Name+" "+m.Comment)
		}
	}
	return pending, nil
}
