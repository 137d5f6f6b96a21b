package migrations_test

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// TestAPITokensSchema: migration 0006 makes api_tokens with a unique
// token hash, names unique per user, and rows that go with their user.
func TestAPITokensSchema(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		now := time.Now().UTC()
		exec := func(q string, args ...any) error {
			_, err := db.Bun().ExecContext(ctx, q, args...)
			return err
		}
		if err := exec(`INSERT INTO admin_users (username, password_hash, role, disabled, created_at, updated_at) VALUES ('u', 'x', 'admin', false, ?, ?)`, now, now); err != nil {
			t.Fatal(err)
		}
		var uid int64
		if err := db.Bun().NewSelect().Table("admin_users").Column("id").Scan(ctx, &uid); err != nil {
			t.Fatal(err)
		}
		insert := `INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`
		if err := exec(insert, uid, "ci", "h1", now); err != nil {
			t.Fatal(err)
		}
		if err := exec(insert, uid, "ci", "h2", now); err == nil {
			t.Error("two tokens of one user share a name")
		}
		if err := exec(insert, uid, "other", "h1", now); err == nil {
			t.Error("two tokens share a hash")
		}
		if err := exec(insert, uid+1000, "x", "h3", now); err == nil {
			t.Error("a token of a user that does not exist was stored")
		}
		if err := exec(`DELETE FROM admin_users WHERE id = ?`, uid); err != nil {
			t.Fatal(err)
		}
		n, err := db.Bun().NewSelect().Table("api_tokens").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d tokens outlived their user", n)
		}
	})
}
