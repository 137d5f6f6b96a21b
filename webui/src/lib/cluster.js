// How the Cluster page shows a member's status (GET /cluster).

const STATUSES = {
	alive: { tone: 'good', label: '● alive', help: 'Answers gossip probes; takes calls.' },
	suspect: { tone: 'warn', label: '▲ suspect', help: 'Missed probes; declared dead soon unless it answers.' },
	left: { tone: 'muted', label: '○ left', help: 'Left the cluster on purpose (shut down).' },
	dead: { tone: 'bad', label: '✕ dead', help: 'Stopped answering; its executors moved to live members.' }
};

/** memberStatus is the tone (CSS class), label and explanation of a member status. */
export function memberStatus(status) {
	return STATUSES[status] ?? { tone: 'muted', label: status || 'unknown', help: '' };
}
