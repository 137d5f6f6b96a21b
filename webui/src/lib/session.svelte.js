// Who is logged in, and the "log in again" prompt shown over the page when
// a session expires.
class Session {
	/** @type {{id:number, username:string, role:string} | null} */
	user = $state(null);
	/** true once /auth/me has answered (either way). */
	checked = $state(false);
	/** true while the re-login dialog is open. */
	expired = $state(false);
	#waiting = [];

	/** reauthenticate opens the dialog and resolves once logged in again. */
	reauthenticate() {
		this.expired = true;
		return new Promise((resolve) => this.#waiting.push(resolve));
	}

	/** loggedIn records a successful (re)login and resumes waiting requests. */
	loggedIn(user) {
		this.user = user;
		this.checked = true;
		this.expired = false;
		const waiting = this.#waiting;
		this.#waiting = [];
		waiting.forEach((resolve) => resolve());
	}

	loggedOut() {
		this.user = null;
		this.expired = false;
		this.#waiting = [];
	}
}

export const session = new Session();
