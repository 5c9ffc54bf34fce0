// A real browser for the e2e tests of the server's web pages: Debian's
// `chromium` (apt: chromium, chromium-driver) driven by playwright-core over
// CDP. Playwright's own browser downloads are never used.
//
//   launchBrowser()            headless Chromium with one fresh context
//   screenshot(page, name)     full-page PNG under tests/e2e/artifacts/screenshots/
//   tabOrder(page)             what Tab reaches, in order, from the top of the page
//   tabTo(page, selector)      Tab from the top until that element has focus
//   unlabelledControls(page)   visible form controls without an accessible name
//   focusIndicator(page)       whether the focused element is visibly marked

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from './procs.mjs';

/** Debian's Chromium; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(REPO_ROOT, 'tests/e2e/artifacts');
export const SCREENSHOTS_DIR = join(ARTIFACTS_DIR, 'screenshots');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// The tests only talk to loopback servers: any host name fails to resolve at
// once (loopback excepted), so e.g. the Okta stand-in's web-font
// @import cannot stall a page load on a machine without internet access.
const OFFLINE_ARG = '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost';

/**
 * Start headless Chromium with a fresh context (its own cookie jar).
 * Resolves `{ browser, context, newContext(), close() }`; `newContext()` gives
 * another isolated context (another person) in the same browser.
 */
export async function launchBrowser({ contextOptions = {}, offline = true } = {}) {
  let browser;
  try {
    const args = offline ? [...CHROMIUM_ARGS, OFFLINE_ARG] : CHROMIUM_ARGS;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args, timeout: 60_000 });
  } catch (err) {
    throw new Error(
      `could not start Chromium at ${CHROMIUM_PATH} (install Debian's chromium and chromium-driver, ` +
        `or set CHROMIUM_PATH): ${err.message}`,
    );
  }
  const options = { viewport: { width: 1280, height: 900 }, locale: 'en-US', ...contextOptions };
  const newContext = () => browser.newContext(options);
  const context = await newContext();
  return { browser, context, newContext, close: () => browser.close() };
}

/** A full-page PNG at tests/e2e/artifacts/screenshots/<name>.png; resolves its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = join(SCREENSHOTS_DIR, `${String(name).replace(/[^A-Za-z0-9._-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// In-page (never called in Node): the accessible name of a form control as a
// person with a screen reader would hear it, from aria-labelledby,
// aria-label, <label for>, a wrapping <label>, and for buttons and links
// their text or value. Placeholder and title are deliberately NOT names:
// they are no replacement for a label.
function accessibleName(el) {
  const clean = (s) => (s ?? '').replace(/\s+/g, ' ').trim();
  const by = el.getAttribute('aria-labelledby');
  if (by) {
    const text = clean(by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' '));
    if (text) return text;
  }
  const aria = clean(el.getAttribute('aria-label'));
  if (aria) return aria;
  const fromLabels = clean([...(el.labels ?? [])].map((l) => l.textContent).join(' '));
  if (fromLabels) return fromLabels;
  const tag = el.tagName.toLowerCase();
  const type = (el.getAttribute('type') ?? '').toLowerCase();
  if (tag === 'button' || (tag === 'a' && el.hasAttribute('href'))) return clean(el.innerText || el.textContent);
  if (tag === 'input' && ['submit', 'reset', 'button'].includes(type)) {
    return clean(el.value) || (type === 'submit' ? 'Submit' : type === 'reset' ? 'Reset' : '');
  }
  if (tag === 'input' && type === 'image') return clean(el.getAttribute('alt'));
  return '';
}

// Run `fn(accessibleName, ...args)` in the page: one expression string, as a
// function handed to page.evaluate cannot close over other functions. (It is
// evaluated through DevTools, which the page's CSP does not restrict.)
function inPage(page, fn, ...args) {
  return page.evaluate(`(${fn})(${accessibleName}, ...${JSON.stringify(args)})`);
}

/**
 * Press Tab from the top of the page until focus comes back round (or leaves
 * the page, or `max` presses); resolves one descriptor per stop:
 * `{ tag, id, name, type, label, href, form }` (label = accessible name,
 * form = the id of the control's form).
 * Moves the focus; uses the keyboard only.
 */
export async function tabOrder(page, max = 60) {
  await focusTop(page);
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const d = await inPage(page, (name) => {
      const el = document.activeElement;
      if (!el || el === document.body || el === document.documentElement) return null;
      const seen = window.__tabOrderIds.has(el);
      if (!seen) window.__tabOrderIds.set(el, window.__tabOrderNext++);
      return {
        seen,
        tag: el.tagName.toLowerCase(),
        id: el.id || null,
        name: el.getAttribute('name'),
        type: el.getAttribute('type'),
        label: name(el) || null,
        href: el.getAttribute('href'),
        form: el.form?.id || null,
      };
    });
    if (!d || d.seen) break;
    delete d.seen;
    stops.push(d);
  }
  return stops;
}

/** Move the sequential-focus starting point to the top of the document (no element focused). */
async function focusTop(page) {
  await page.evaluate(() => {
    document.activeElement?.blur?.();
    const body = document.body;
    const had = body.hasAttribute('tabindex');
    if (!had) body.setAttribute('tabindex', '-1');
    body.focus({ preventScroll: true });
    if (!had) body.removeAttribute('tabindex');
    window.__tabOrderIds = new WeakMap();
    window.__tabOrderNext = 0;
  });
}

/**
 * Press Tab from the top of the page until the element matching `selector`
 * has focus; resolves the number of presses. Throws if Tab never gets there.
 */
export async function tabTo(page, selector, max = 60) {
  await focusTop(page);
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    const there = await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector);
    if (there) return presses;
  }
  throw new Error(`tabTo: ${selector} not reached with ${max} presses of Tab`);
}

/**
 * Every visible input, select, textarea and button without an accessible
 * name; resolves `[{ tag, id, name, type, html }]` (empty = all labelled).
 */
export function unlabelledControls(page) {
  return inPage(page, (name) => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      if ((el.getAttribute('type') ?? '').toLowerCase() === 'hidden') continue;
      const visible = el.checkVisibility ? el.checkVisibility({ visibilityProperty: true, opacityProperty: true }) : el.offsetParent !== null;
      if (!visible) continue;
      if (!name(el)) {
        out.push({ tag: el.tagName.toLowerCase(), id: el.id || null, name: el.getAttribute('name'), type: el.getAttribute('type'), html: el.outerHTML.slice(0, 200) });
      }
    }
    return out;
  });
}

/**
 * Whether the focused element is visibly marked: its outline / box-shadow /
 * border / background while focused differ from the same element unfocused.
 * Focus is put back afterwards. Resolves `{ element, visible, focused, unfocused }`.
 */
export function focusIndicator(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { element: null, visible: false };
    const look = () => {
      const cs = getComputedStyle(el);
      return {
        outline: cs.outlineStyle === 'none' || cs.outlineWidth === '0px' ? 'none' : `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
        boxShadow: cs.boxShadow,
        border: `${cs.borderTopStyle} ${cs.borderTopWidth} ${cs.borderTopColor}`,
        background: cs.backgroundColor,
      };
    };
    const focused = look();
    el.blur();
    const unfocused = look();
    el.focus({ preventScroll: true });
    const visible = Object.keys(focused).some((k) => focused[k] !== unfocused[k]);
    return { element: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`, visible, focused, unfocused };
  });
}
