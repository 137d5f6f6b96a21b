package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Route binds an HTTP method and path pattern (":name" parameters, a
// trailing "*rest" wildcard) of an app to one of its scripts. Method and
// path shape (see route.Shape) are unique within the app: the database
// refuses a route that conflicts with another, whoever writes it.
type Route struct {
	bun.BaseModel `bun:"table:routes,alias:r" json:"-"`

	ID       int64  `bun:"id,pk,autoincrement" json:"id"`
	AppID    int64  `bun:"app_id,notnull" json:"app_id"`
	ScriptID int64  `bun:"script_id,notnull" json:"script_id"`
	Method   string `bun:"method,notnull" json:"method"`
	Path     string `bun:"path,notnull" json:"path"`
	// Shape is route.Shape(Path); CreateRoute sets it.
	Shape     string    `bun:"shape,notnull" json:"-"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
}
