package admin

import "github.com/valyala/fasthttp"

// maxNodeName bounds the node filter, as config bounds cluster.node_name.
const maxNodeName = 64

// nodeParam reads the node filter of the invocation list and stream: a
// node name (letters, digits, '.', '-', '_'), "" when absent.
func nodeParam(args *fasthttp.Args) (string, error) {
	raw := args.Peek("node")
	ok := len(raw) <= maxNodeName
	for _, c := range raw {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '-' && c != '_' {
			ok = false
		}
	}
	if !ok {
		return "", invalid("node", "must be a node name of letters, digits, '.', '-' and '_' (at most %d), got %q", maxNodeName, raw)
	}
	return string(raw), nil
}
