// dom.js: the few DOM helpers the pages share. Text always goes in as
// textContent: nothing a player typed (names, chat, error messages) is
// ever parsed as HTML.

/**
 * byTestID returns the element with data-testid id under root, or throws:
 * the page's markup has them all.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {ParentNode} [root]
 * @returns {T}
 */
export function byTestID(id, root = document) {
  const el = root.querySelector(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no element with data-testid="${id}"`);
  return /** @type {T} */ (el);
}

/**
 * @typedef {object} Props
 * @property {string} [className]
 * @property {string} [text] textContent
 * @property {string} [title]
 * @property {Record<string, string>} [data] data-* attributes
 * @property {Record<string, string>} [attrs] other attributes (aria-*, type, role)
 */

/**
 * h makes an element with props and children (nodes, or strings as text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {(Node | string | null | false)[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.className) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title) el.title = props.title;
  for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== false) el.append(c);
  return el;
}

/**
 * setText sets el's text if it changed (no needless layout or
 * screen-reader announcements).
 * @param {HTMLElement} el
 * @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * show hides el, or shows it, as on says.
 * @param {HTMLElement} el
 * @param {boolean} on
 */
export function show(el, on) {
  if (el.hidden === on) el.hidden = !on;
}

/**
 * setKeyed replaces el's children with make() only when key differs from
 * the last one: the cards of a hand are rebuilt when the hand changes, not
 * on every tick of a countdown.
 * @param {HTMLElement} el
 * @param {string} key
 * @param {() => Node[]} make
 * @returns {boolean} whether the children were rebuilt
 */
export function setKeyed(el, key, make) {
  if (el.dataset.key === key) return false;
  el.dataset.key = key;
  el.replaceChildren(...make());
  return true;
}
