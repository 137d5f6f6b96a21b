package appdir

import (
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"strings"

	"github.com/picloud/picloud/route"
)

// Directives a script file may carry, in a line comment of their own.
const (
	directivePrefix = "//picloud:"
	nameDirective   = "name"
	routeDirective  = "route"
)

// ReadScript reads one script file: its source, name and routes.
func ReadScript(file string) (Script, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return Script{}, fmt.Errorf("read script: %w", err)
	}
	return ParseScript(file, src)
}

// ParseScript reads the directives of a script's source; file names it in
// errors and gives the default name (the file name without .go). It does
// not compile the source: the server does.
func ParseScript(file string, src []byte) (Script, error) {
	s := Script{File: file, Source: string(src), Name: strings.TrimSuffix(filepath.Base(file), ".go")}
	var errs Errors
	named := false
	for _, c := range comments(file, src) {
		rest, ok := strings.CutPrefix(c.text, directivePrefix)
		if !ok {
			continue
		}
		kind, arg, _ := strings.Cut(rest, " ")
		arg = strings.TrimSpace(arg)
		switch kind {
		case nameDirective:
			if named {
				errs = append(errs, &Error{c.pos, "a second //picloud:name; a script has one name"})
				continue
			}
			named = true
			s.Name = arg
		case routeDirective:
			r, err := ParseRoute(arg, c.pos)
			if err != nil {
				errs = append(errs, err.(*Error))
				continue
			}
			s.addRoute(r)
		default:
			errs = append(errs, &Error{c.pos, fmt.Sprintf("unknown directive //picloud:%s (known: //picloud:name NAME, //picloud:route METHOD /path)", kind)})
		}
	}
	if !ValidScriptName(s.Name) {
		errs = append(errs, &Error{Position{File: file, Line: 1, Column: 1}, fmt.Sprintf(
			"script name %q must be 1-64 of letters, digits, '_', '.' and '-', starting with a letter or digit (rename the file or add //picloud:name NAME)", s.Name)})
	}
	if len(errs) > 0 {
		return Script{}, errs
	}
	return s, nil
}

// ParseRoute reads "METHOD /path" declared at pos.
func ParseRoute(s string, pos Position) (Route, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return Route{}, &Error{pos, fmt.Sprintf("route %q must be \"METHOD /path\", e.g. \"GET /users/:id\"", s)}
	}
	method, err := route.ValidateMethod(fields[0])
	if err != nil {
		return Route{}, &Error{pos, err.Error()}
	}
	if err := route.ValidatePath(fields[1]); err != nil {
		return Route{}, &Error{pos, err.Error()}
	}
	return Route{Method: method, Path: fields[1], Pos: pos}, nil
}

// ValidScriptName mirrors the server's rule for script names, so a bad
// one is reported at its file before anything is sent.
func ValidScriptName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// comment is one line comment and where it starts.
type comment struct {
	text string
	pos  Position
}

// comments returns the line comments of src, found by Go's scanner (so a
// "//picloud:" inside a string is not one), even in a file that does not
// compile.
func comments(file string, src []byte) []comment {
	fset := token.NewFileSet()
	f := fset.AddFile(file, -1, len(src))
	var sc scanner.Scanner
	sc.Init(f, src, func(token.Position, string) {}, scanner.ScanComments)
	var out []comment
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.COMMENT && strings.HasPrefix(lit, "//") {
			p := fset.Position(pos)
			out = append(out, comment{text: strings.TrimRight(lit, "\r"), pos: Position{File: file, Line: p.Line, Column: p.Column}})
		}
	}
}
