// CodeMirror set-up shared by the editor and the diff view: Go syntax,
// a theme that follows the system's light or dark mode, and the compile
// error marks.
import { EditorView, Decoration, keymap } from '@codemirror/view';
import { Compartment, StateEffect, StateField, RangeSet } from '@codemirror/state';
import { oneDark } from '@codemirror/theme-one-dark';

const dark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;

/** themeExtension returns a compartment whose theme tracks the system. */
export function systemTheme(view, compartment) {
	const pick = () => (dark?.matches ? oneDark : []);
	const update = () => view.dispatch({ effects: compartment.reconfigure(pick()) });
	dark?.addEventListener('change', update);
	return () => dark?.removeEventListener('change', update);
}

export function initialTheme() {
	return dark?.matches ? oneDark : [];
}

export const baseTheme = EditorView.theme({
	'&': { fontSize: '13.5px', border: '1px solid var(--line)', borderRadius: 'var(--radius)' },
	'.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
	'&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '1px' },
	'.cm-errorLine': { backgroundColor: 'rgb(220 40 40 / 0.14)' }
});

/** setErrorLines marks whole lines (1-based) as holding a compile error. */
export const setErrorLines = StateEffect.define();

/** errorLines draws the lines set with setErrorLines; an edit clears them. */
export const errorLines = StateField.define({
	create: () => Decoration.none,
	update(marks, tr) {
		for (const e of tr.effects) {
			if (e.is(setErrorLines)) {
				const doc = tr.state.doc;
				const ranges = e.value
					.filter((n) => n >= 1 && n <= doc.lines)
					.sort((a, b) => a - b)
					.map((n) =>
						Decoration.line({ attributes: { class: 'cm-errorLine', 'data-error-line': String(n) } }).range(doc.line(n).from)
					);
				return RangeSet.of(ranges, true);
			}
		}
		return tr.docChanged ? Decoration.none : marks.map(tr.changes);
	},
	provide: (f) => EditorView.decorations.from(f)
});

/** saveKeymap runs save on Ctrl-S / Cmd-S inside the editor. */
export function saveKeymap(save) {
	return keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => (save(), true) }]);
}

export { Compartment };
