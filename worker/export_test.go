package worker

// Confine and ConfineSupport let the tests confine a helper process the
// way RunChild confines a worker.
var (
	Confine        = confine
	ConfineSupport = confineSupport
)
