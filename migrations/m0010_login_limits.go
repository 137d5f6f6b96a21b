package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0010, frozen: the state of login throttling,
// shared by every node on the database (issue 11: 20 tries per address
// mean 20 in all, not 20 per node). Times are Unix nanoseconds, so that
// the token-bucket arithmetic of an atomic upsert is the same SQL on
// SQLite and PostgreSQL.

// loginBucketV10 is one token bucket of failures.
type loginBucketV10 struct {
	bun.BaseModel `bun:"table:login_buckets"`

	Key string `bun:"key,pk"`
	// Tokens left at AtNS; Burst and RefillNS are the bucket's limit,
	// kept so that the janitor can tell when it is full again (a full
	// bucket is the same as none).
	Tokens   float64 `bun:"tokens,notnull"`
	AtNS     int64   `bun:"at_ns,notnull"`
	Burst    int64   `bun:"burst,notnull"`
	RefillNS int64   `bun:"refill_ns,notnull"`
}

// loginKnownV10 marks a key (a user's address) as known until UntilNS.
type loginKnownV10 struct {
	bun.BaseModel `bun:"table:login_known"`

	Key     string `bun:"key,pk"`
	UntilNS int64  `bun:"until_ns,notnull"`
}

func tablesV10() []tableV1 {
	return []tableV1{{
		model: (*loginBucketV10)(nil),
	}, {
		model:   (*loginKnownV10)(nil),
		indexes: []indexV1{{"login_known_until_ns_idx", false, []string{"until_ns"}}},
	}}
}

func loginLimits() migrate.Migration {
	return migrate.Migration{
		Name:    "0010",
		Comment: "login limits shared by the nodes",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return createTables(ctx, tx, tablesV10())
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return dropTables(ctx, tx, tablesV10())
			})
		},
	}
}
