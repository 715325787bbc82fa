#!/usr/bin/env node
// Browser test of the decision view (MCP Apps, io.modelcontextprotocol/ui 2026-01-26).
//
//   node tests/view/drive.mjs --url http://127.0.0.1:PORT/mcp --session SESSION_ID --out DIR
//                             [--chromium /usr/bin/chromium]
//
// Connects to a running server over streamable HTTP, checks that it publishes the view,
// renders the view in headless Chromium inside host.html (the host's side of the bridge),
// and checks what a person would see and do: the matrix and ranking, both themes, moving a
// weight slider by keyboard (what-if through analyze_sensitivity), applying the weights
// (update_criterion), the standalone HTML report and the SVG chart. Prints one line of
// JSON on success; on failure prints the reason to stderr and exits 1.

import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse as parseHtml } from 'parse5';
import { chromium } from 'playwright-core';

const VIEW_URI = 'ui://decision-matrix/decision.html';
const VIEW_MIME = 'text/html;profile=mcp-app';
const UI_EXTENSION = 'io.modelcontextprotocol/ui';
const VIEW_TOOLS = ['get_decision_matrix', 'evaluate_options', 'analyze_sensitivity'];
const HOST_PAGE = fileURLToPath(new URL('./host.html', import.meta.url));

/** Every single wait (a tool call, a page condition) gives up after this long. */
const WAIT_MS = 20_000;
/** The whole run gives up after this long, whatever it is waiting for. */
const RUN_MS = 180_000;
const VIEWPORT = { width: 1000, height: 800 };
/** The sliders' range and step (view.html's #weights inputs). */
const WEIGHT_MIN = 0.1;
const WEIGHT_MAX = 10;
const WEIGHT_STEP = 0.1;

// ---------- small helpers ----------

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

const show = (value) => JSON.stringify(value);

/** Fails naming both lists when `found` is not `expected`, element by element. */
function checkSameList(what, expected, found) {
  check(isDeepStrictEqual(expected, found), `${what}: expected ${show(expected)}, found ${show(found)}`);
}

/** A score as the view writes it in span.score: `7`, `7.5`, `–` for none. */
function viewScore(value) {
  if (value == null) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** A weight as the slider holds it: on the 0.1 grid (WEIGHT_STEP), within the slider's range. */
function sliderWeight(value) {
  const clamped = Math.min(WEIGHT_MAX, Math.max(WEIGHT_MIN, value));
  return Math.round(clamped * 10) / 10;
}

const closeTo = (a, b) => Math.abs(a - b) < 1e-6;

/** The structured result of a CallToolResult, else its first text content as JSON. */
function payloadOf(result) {
  if (result && result.structuredContent && typeof result.structuredContent === 'object') {
    return result.structuredContent;
  }
  const text = ((result && result.content) || []).find((c) => c && c.type === 'text');
  if (!text) return null;
  try {
    return JSON.parse(text.text);
  } catch {
    return null;
  }
}

function errorTextOf(result) {
  const text = ((result && result.content) || []).find((c) => c && c.type === 'text');
  return text ? text.text : show(result);
}

/** Polls `probe` (sync or async) until it returns a truthy value; fails naming `what`. */
async function waitUntil(what, probe, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Failure(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function parseCli() {
  const usage = 'usage: node drive.mjs --url URL --session ID --out DIR [--chromium PATH] [--measure N]';
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        session: { type: 'string' },
        out: { type: 'string' },
        chromium: { type: 'string' },
        measure: { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new Failure(`${e.message}; ${usage}`);
  }
  for (const name of ['url', 'session', 'out']) check(values[name], `missing --${name}; ${usage}`);
  return {
    url: values.url,
    session: values.session,
    out: path.resolve(values.out),
    chromium: values.chromium || process.env.DMM_TEST_CHROMIUM || '/usr/bin/chromium',
    measure: values.measure == null ? null : Number(values.measure),
  };
}

// ---------- the server ----------

/**
 * The MCP client, plus a record of every tool call made through it: the view's calls come
 * through here too (host.html forwards them to window.callServer), so the driver knows
 * exactly what the server answered the view.
 */
class Server {
  constructor(client, sessionId) {
    this.client = client;
    this.sessionId = sessionId;
    this.calls = []; // {name, args, byView, result, error, done}
  }

  static async connect(url, sessionId) {
    // Declaring the UI extension tells the server this client can render MCP Apps views.
    const client = new Client(
      { name: 'decision-matrix-view-test', version: '0.1.0' },
      { capabilities: { extensions: { [UI_EXTENSION]: { mimeTypes: [VIEW_MIME] } } } },
    );
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)), { timeout: WAIT_MS });
    } catch (e) {
      throw new Failure(`cannot connect to the MCP server at ${url}: ${(e && e.cause && e.cause.message) || (e && e.message) || e}`);
    }
    return new Server(client, sessionId);
  }

  /** Calls a tool and records the call; resolves with the CallToolResult as sent. */
  async call(name, args, byView = false) {
    const record = { name, args, byView, result: null, error: null, done: false };
    this.calls.push(record);
    try {
      record.result = await this.client.callTool({ name, arguments: args }, undefined, { timeout: WAIT_MS });
      return record.result;
    } catch (e) {
      record.error = String((e && e.message) || e);
      throw e;
    } finally {
      record.done = true;
    }
  }

  /** Calls a tool the driver needs an answer from: an error result is a failure. */
  async data(name, args) {
    const result = await this.call(name, args);
    check(!result.isError, `${name} ${show(args)} failed: ${errorTextOf(result)}`);
    const data = payloadOf(result);
    check(data && typeof data === 'object', `${name} returned no structured data: ${show(result).slice(0, 300)}`);
    return data;
  }

  async matrix() {
    const data = await this.data('get_decision_matrix', { session_id: this.sessionId });
    check(data.matrix && Array.isArray(data.rankings),
      `get_decision_matrix returned no matrix for session ${this.sessionId}: ${show(data).slice(0, 300)}`);
    return data;
  }

  async export(format) {
    const data = await this.data('export_matrix', { session_id: this.sessionId, format });
    check(typeof data.content === 'string' && data.content.length > 0, `export_matrix ${format} returned no content`);
    return data.content;
  }

  viewCalls(name) {
    return this.calls.filter((c) => c.byView && c.name === name);
  }

  async close() {
    await this.client.close();
  }
}

/** Step 1: the server advertises the extension, links the view from its tools, serves it. */
async function checkViewIsPublished(server) {
  const caps = server.client.getServerCapabilities() || {};
  check(caps.extensions && caps.extensions[UI_EXTENSION],
    `server capabilities: expected extensions["${UI_EXTENSION}"], found ${show(caps.extensions || null)}`);

  const { tools } = await server.client.listTools(undefined, { timeout: WAIT_MS });
  for (const name of VIEW_TOOLS) {
    const tool = tools.find((t) => t.name === name);
    check(tool, `tools/list: expected a tool ${name}, found ${show(tools.map((t) => t.name))}`);
    const uri = tool._meta && tool._meta.ui && tool._meta.ui.resourceUri;
    check(uri === VIEW_URI, `tools/list: ${name}._meta.ui.resourceUri: expected ${VIEW_URI}, found ${show(uri)}`);
  }

  const { contents } = await server.client.readResource({ uri: VIEW_URI }, { timeout: WAIT_MS });
  check(contents.length === 1, `resources/read ${VIEW_URI}: expected 1 content, found ${contents.length}`);
  const [content] = contents;
  check(content.mimeType === VIEW_MIME, `resources/read ${VIEW_URI}: expected MIME ${VIEW_MIME}, found ${show(content.mimeType)}`);
  check(typeof content.text === 'string' && /^\s*<!doctype html>/i.test(content.text),
    `resources/read ${VIEW_URI}: expected HTML text, found ${show(String(content.text || content.blob || '').slice(0, 80))}`);
  checkSameList(`resources/read ${VIEW_URI}: HTML parse errors`, [], htmlParseErrors(content.text));
  return content.text;
}

// ---------- what the matrix should look like ----------

/** Every cell the view should draw: options in ranking order, criteria in weight order. */
function expectedCells(matrix) {
  const options = matrix.rankings.map((r) => r.option);
  for (const o of Object.keys(matrix.matrix)) if (!options.includes(o)) options.push(o);
  const criteria = Object.keys(matrix.criteria_weights || {});
  for (const row of Object.values(matrix.matrix)) {
    for (const c of Object.keys(row || {})) if (!criteria.includes(c)) criteria.push(c);
  }
  return options.flatMap((option) => criteria.map((criterion) => {
    const cell = (matrix.matrix[option] || {})[criterion] || { raw_score: null, status: 'missing' };
    return { option, criterion, score: cell.raw_score ?? null, status: cell.status || 'missing' };
  }));
}

const rankingOf = (rankings) => rankings.map((r) => ({ option: r.option, total: r.weighted_total }));

// ---------- what the page shows ----------

/** The view's state as its DOM shows it (runs in the view's document). */
function readView() {
  const ranking = document.getElementById('ranking');
  const badge = document.getElementById('badge');
  return {
    ready: document.body.dataset.ready === 'true',
    theme: document.documentElement.dataset.theme || null,
    status: document.getElementById('status').textContent,
    verdict: document.getElementById('verdict').textContent,
    badge: badge ? { hidden: badge.hidden, clear: badge.dataset.clear ?? null, text: badge.textContent } : null,
    mode: ranking ? ranking.dataset.mode : null,
    busy: ranking ? ranking.hasAttribute('aria-busy') : false,
    ranking: [...document.querySelectorAll('#ranking li[data-rank-option]')].map((li) => ({
      option: li.dataset.rankOption,
      total: Number(li.dataset.total),
    })),
    cells: [...document.querySelectorAll('td.cell[data-option][data-criterion]')].map((td) => ({
      option: td.dataset.option,
      criterion: td.dataset.criterion,
      status: td.dataset.status,
      text: (td.querySelector('span.score') || {}).textContent ?? null,
    })),
    lastWhatIf: window.decisionView ? window.decisionView.lastWhatIf : undefined,
  };
}

/** Fails unless `shown` (readView) draws `matrix`'s cells, ranking and verdict. */
function checkShowsMatrix(where, shown, matrix) {
  check(shown.ready, `${where}: document.body.dataset.ready is not "true"`);
  check(!shown.status, `${where}: #status shows an error: ${show(shown.status)}`);
  const expected = expectedCells(matrix);
  check(shown.cells.length === expected.length,
    `${where}: expected ${expected.length} score cells, found ${shown.cells.length}`);
  for (const want of expected) {
    const found = shown.cells.find((c) => c.option === want.option && c.criterion === want.criterion);
    const name = `${where}: cell ${show(want.option)} × ${show(want.criterion)}`;
    check(found, `${name}: expected a td.cell, found none`);
    check(found.text === viewScore(want.score),
      `${name}: expected span.score ${show(viewScore(want.score))} (raw_score ${want.score}), found ${show(found.text)}`);
    check(found.status === want.status, `${name}: expected data-status ${show(want.status)}, found ${show(found.status)}`);
  }
  check(shown.mode === 'session', `${where}: #ranking data-mode: expected "session", found ${show(shown.mode)}`);
  checkSameList(`${where}: #ranking (option, data-total) in order`, rankingOf(matrix.rankings), shown.ranking);

  const verdict = (matrix.confidence && matrix.confidence.verdict) || matrix.recommendation;
  check(shown.verdict === verdict, `${where}: #verdict: expected ${show(verdict)}, found ${show(shown.verdict)}`);
  check(shown.badge, `${where}: no #badge element`);
  if (matrix.confidence) {
    const clear = String(!!(matrix.confidence.clear_winner && matrix.confidence.winner));
    check(!shown.badge.hidden && shown.badge.text, `${where}: #badge: expected shown, found hidden or empty`);
    check(shown.badge.clear === clear, `${where}: #badge data-clear: expected ${clear}, found ${show(shown.badge.clear)}`);
  }
  return expected.length;
}

/**
 * Collects console errors and uncaught exceptions of a page and all its frames; `where`
 * says which page, for the message.
 */
function watchErrors(page, where, errors) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${where}: console.error at ${msg.location().url || '?'}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`${where}: uncaught ${err.name}: ${err.message}`));
}

function checkNoErrors(errors) {
  check(errors.length === 0, `errors in the browser:\n  ${errors.join('\n  ')}`);
}

/**
 * Runs in the view before the host sends the tool result: stamps the moment body[data-ready]
 * becomes "true", on the same wall clock (timeOrigin + now) the host stamps its send with.
 */
function installReadyProbe() {
  const probe = (window.__viewProbe = { readyAt: null, readyBefore: document.body.dataset.ready === 'true' });
  new MutationObserver(() => {
    if (probe.readyAt == null && document.body.dataset.ready === 'true') {
      probe.readyAt = performance.timeOrigin + performance.now();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['data-ready'] });
  return probe.readyBefore;
}

// ---------- the view in the test host ----------

/** Steps 3–4: host.html loads the view and plays the tool result; returns {page, frame, ...}. */
async function openView(browser, server, viewHtml, toolResult, errors) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  watchErrors(page, 'view', errors);
  // The view's tools/call requests reach the real server through here.
  await page.exposeFunction('callServer', (name, args) => server.call(name, args, true));
  await page.goto(pathToFileURL(HOST_PAGE).href);
  // The host holds the tool result until the timing probe is in the frame.
  await page.evaluate(({ html, input, result }) => window.startView(html, input, result, { theme: 'light', hold: true }),
    { html: viewHtml, input: { session_id: server.sessionId }, result: toolResult });
  await page.waitForFunction(() => window.hostState.initialized, null, { timeout: WAIT_MS })
    .catch(() => { throw new Failure('the view never completed ui/initialize with ui/notifications/initialized'); });

  const frame = await (await page.locator('#view').elementHandle()).contentFrame();
  check(frame && frame.url() === 'about:srcdoc', `the view frame: expected about:srcdoc, found ${show(frame && frame.url())}`);
  const readyBefore = await frame.evaluate(installReadyProbe);
  check(!readyBefore, 'the view set body[data-ready] before it had any tool result');
  await page.evaluate(() => window.releaseToolResult());

  await frame.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: WAIT_MS })
    .catch(async () => {
      const state = await frame.evaluate(readView).catch(() => null);
      throw new Failure(`the view never set body[data-ready="true"]; #status ${show(state && state.status)}`);
    });
  const sentAt = await page.evaluate(() => window.hostState.toolResultSentAt);
  const readyAt = await frame.evaluate(() => window.__viewProbe.readyAt);
  check(sentAt != null && readyAt != null, `render time: tool-result sent at ${sentAt}, ready at ${readyAt}`);
  return { context, page, frame, renderMs: Math.round((readyAt - sentAt) * 10) / 10 };
}

/** Every message host.html passed to and from the view, in order. */
const bridgeLog = (page) => page.evaluate(() => window.bridgeLog);

/** The view's tools/call requests in the bridge log, by tool name. */
async function bridgeToolCalls(page, name) {
  return (await bridgeLog(page)).filter((e) =>
    e.dir === 'in' && e.msg && e.msg.method === 'tools/call' && e.msg.params && e.msg.params.name === name);
}

/** Waits until the frame's height follows the view's last size-changed, so a screenshot shows it all. */
async function waitFrameFitted(page, frame) {
  await waitUntil('the frame to fit the view', async () => {
    const body = await frame.evaluate(() => Math.ceil(document.body.getBoundingClientRect().height));
    const box = await page.evaluate(() => document.getElementById('view').getBoundingClientRect().height);
    return Math.abs(box - (body + 2)) <= 2;
  });
  // One more frame so the last layout is painted.
  await frame.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/** Step 5: screenshots in both themes; the dark one through host-context-changed. */
async function screenshotThemes(page, frame, out) {
  const bodyBackground = () => getComputedStyle(document.body).backgroundColor;
  await waitFrameFitted(page, frame);
  const light = path.join(out, 'view-light.png');
  await page.locator('#view').screenshot({ path: light });
  const lightBg = await frame.evaluate(bodyBackground);

  await page.evaluate(() => window.setTheme('dark'));
  await frame.waitForFunction(() => document.documentElement.dataset.theme === 'dark', null, { timeout: WAIT_MS })
    .catch(async () => {
      const theme = await frame.evaluate(() => document.documentElement.dataset.theme);
      throw new Failure(`after host-context-changed {theme: "dark"}: expected <html data-theme="dark">, found ${show(theme)}`);
    });
  const darkBg = await frame.evaluate(bodyBackground);
  check(darkBg !== lightBg, `dark theme: the body background stayed ${lightBg}`);
  await waitFrameFitted(page, frame);
  const dark = path.join(out, 'view-dark.png');
  await page.locator('#view').screenshot({ path: dark });
  return [light, dark];
}

// ---------- keyboard: what-if and apply ----------

/**
 * The slider to move and how: the criterion whose sensitivity entry says a reachable weight
 * changes the winner (fewest key presses first), moved two steps past that threshold;
 * without one, the first criterion raised by 3.0.
 */
function planWeightChange(matrix) {
  const criteria = Object.keys(matrix.criteria_weights);
  const candidates = [];
  for (const s of matrix.sensitivity || []) {
    const index = criteria.indexOf(s.criterion);
    if (index < 0 || s.threshold_weight == null) continue;
    const from = matrix.criteria_weights[s.criterion];
    const up = s.threshold_weight > from;
    // Two steps past the threshold where the range allows, so the slider's grid cannot land
    // on the tie at the threshold itself.
    const past = up ? s.threshold_weight + 2 * WEIGHT_STEP : s.threshold_weight - 2 * WEIGHT_STEP;
    const to = sliderWeight(up ? Math.ceil(past * 10 - 1e-9) / 10 : Math.floor(past * 10 + 1e-9) / 10);
    if (Math.abs(to - s.threshold_weight) < WEIGHT_STEP / 2) continue;
    const presses = Math.round(Math.abs(to - sliderWeight(from)) / WEIGHT_STEP);
    candidates.push({ criterion: s.criterion, index, from, to, presses, key: up ? 'ArrowRight' : 'ArrowLeft', flipsWinner: true });
  }
  candidates.sort((a, b) => a.presses - b.presses || a.index - b.index);
  if (candidates.length) return candidates[0];
  const criterion = criteria[0];
  const from = matrix.criteria_weights[criterion];
  // Down instead when there is no room to go up (a weight near the maximum).
  const up = from + 3 <= WEIGHT_MAX;
  const to = sliderWeight(up ? from + 3 : from - 3);
  const presses = Math.round(Math.abs(to - sliderWeight(from)) / WEIGHT_STEP);
  return { criterion, index: 0, from, to, presses, key: up ? 'ArrowUp' : 'ArrowDown', flipsWinner: false };
}

/** Presses Tab until `selector` has the focus in the frame; fails after `max` presses. */
async function tabTo(page, frame, selector, max, what) {
  for (let presses = 0; presses <= max; presses++) {
    const focused = await frame.evaluate((sel) => document.hasFocus() && !!document.activeElement
      && document.activeElement.matches(sel), selector);
    if (focused) return presses;
    if (presses < max) await page.keyboard.press('Tab');
  }
  const at = await frame.evaluate(() => {
    const el = document.activeElement;
    return el ? el.outerHTML.slice(0, 120) : null;
  });
  throw new Failure(`keyboard: ${what} (${selector}) never had the focus after ${max} Tab presses; focus is on ${show(at)}`);
}

/** Step 6: a slider moved by keyboard shows the server's what-if ranking. */
async function moveWeightByKeyboard(page, frame, server, matrix) {
  const plan = planWeightChange(matrix);
  // Start from the top of the frame: focus its document, then Tab through it.
  await page.evaluate(() => document.getElementById('view').focus());
  await frame.evaluate(() => {
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  });
  await tabTo(page, frame, '#weights input[type=range]', 30, 'the first weight slider');
  const sliderSel = `#weights .wrow:nth-child(${plan.index + 1}) input[type=range]`;
  await tabTo(page, frame, sliderSel, plan.index, `the weight slider of ${show(plan.criterion)}`);
  const sliderCriterion = await frame.evaluate(() => document.activeElement.dataset.criterion);
  check(sliderCriterion === plan.criterion,
    `keyboard: the focused slider is for ${show(sliderCriterion)}, expected ${show(plan.criterion)}`);

  for (let i = 0; i < plan.presses; i++) await page.keyboard.press(plan.key);

  const weights = { ...matrix.criteria_weights, [plan.criterion]: plan.to };
  const value = await frame.evaluate(() => Number(document.activeElement.value));
  check(closeTo(value, plan.to),
    `keyboard: after ${plan.presses} × ${plan.key} the slider of ${plan.criterion} holds ${value}, expected ${plan.to}`);

  // The latest what-if is drawn once #ranking is in what-if mode with no request pending
  // and the view's last request carries the final weights.
  await frame.waitForFunction((want) => {
    const r = document.getElementById('ranking');
    const last = window.decisionView && window.decisionView.lastWhatIf;
    return r.dataset.mode === 'what-if' && !r.hasAttribute('aria-busy') && last
      && Object.keys(want).every((c) => Math.abs(last.weights[c] - want[c]) < 1e-6);
  }, weights, { timeout: WAIT_MS }).catch(async () => {
    const shown = await frame.evaluate(readView);
    throw new Failure(`what-if: expected #ranking[data-mode="what-if"] for weights ${show(weights)}; found mode ${show(shown.mode)}, `
      + `lastWhatIf ${show(shown.lastWhatIf)}, #status ${show(shown.status)}`);
  });

  const shown = await frame.evaluate(readView);
  check(!shown.status, `what-if: #status shows an error: ${show(shown.status)}`);
  check(shown.lastWhatIf.session_id === server.sessionId,
    `window.decisionView.lastWhatIf.session_id: expected ${server.sessionId}, found ${show(shown.lastWhatIf.session_id)}`);
  checkSameList('window.decisionView.lastWhatIf.weights (criterion order)',
    Object.keys(weights), Object.keys(shown.lastWhatIf.weights));

  const bridged = (await bridgeToolCalls(page, 'analyze_sensitivity'))
    .filter((e) => e.msg.params.arguments && e.msg.params.arguments.weights);
  check(bridged.length, 'bridge log: expected a tools/call analyze_sensitivity with weights from the view, found none');
  const lastBridged = bridged[bridged.length - 1].msg.params.arguments;
  check(isDeepStrictEqual(lastBridged, shown.lastWhatIf),
    `window.decisionView.lastWhatIf: expected the last what-if the view sent, ${show(lastBridged)}, found ${show(shown.lastWhatIf)}`);
  const calls = server.viewCalls('analyze_sensitivity').filter((c) => isDeepStrictEqual(c.args, shown.lastWhatIf));
  check(calls.length, `the server got no analyze_sensitivity call with ${show(shown.lastWhatIf)}`);
  const answer = calls[calls.length - 1];
  check(answer.done && answer.result && !answer.result.isError,
    `analyze_sensitivity ${show(answer.args)}: ${answer.error || errorTextOf(answer.result)}`);
  const whatIf = payloadOf(answer.result).what_if;
  check(whatIf && Array.isArray(whatIf.rankings), `analyze_sensitivity returned no what_if: ${show(payloadOf(answer.result)).slice(0, 300)}`);
  checkSameList('what-if: #ranking (option, data-total) in order', rankingOf(whatIf.rankings), shown.ranking);
  if (plan.flipsWinner) {
    check(whatIf.winner_changes === true && whatIf.rankings[0].option !== matrix.rankings[0].option,
      `what-if: ${plan.criterion} moved from ${plan.from} past its threshold ${show((matrix.sensitivity.find((s) => s.criterion === plan.criterion) || {}).threshold_weight)} to ${plan.to}, `
      + `expected a new winner, found ${show(whatIf.rankings[0].option)} (winner_changes ${show(whatIf.winner_changes)})`);
  }
  return { plan, whatIfCalls: bridged.length };
}

/** Step 7: "Apply weights" by keyboard stores the weight and redraws the session's ranking. */
async function applyByKeyboard(page, frame, server, plan) {
  const applyEnabled = await frame.evaluate(() => !document.getElementById('apply').disabled);
  check(applyEnabled, '#apply is disabled after a weight changed');
  await tabTo(page, frame, '#apply', 12, 'the Apply button');
  const before = server.calls.length;
  await page.keyboard.press('Enter');

  // The view sends one update_criterion per changed weight, then reloads the matrix.
  await waitUntil('update_criterion from the view, then get_decision_matrix', () => {
    const after = server.calls.slice(before).filter((c) => c.byView);
    const lastUpdate = after.map((c) => c.name).lastIndexOf('update_criterion');
    return lastUpdate >= 0 && after.slice(lastUpdate + 1).some((c) => c.name === 'get_decision_matrix' && c.done);
  }).catch(async (e) => {
    const names = server.calls.slice(before).map((c) => c.name);
    throw new Failure(`${e.message}; tools the view called after Enter on #apply: ${show(names)}`);
  });
  const updates = server.calls.slice(before).filter((c) => c.byView && c.name === 'update_criterion');
  for (const u of updates) {
    check(u.result && !u.result.isError,
      `the view's update_criterion ${show(u.args)} was refused by the server: ${u.error || errorTextOf(u.result)}`);
  }
  await frame.waitForFunction(() => {
    const apply = document.getElementById('apply');
    return apply.textContent === 'Apply weights' && document.getElementById('ranking').dataset.mode === 'session';
  }, null, { timeout: WAIT_MS }).catch(async () => {
    const shown = await frame.evaluate(readView);
    throw new Failure(`after apply: expected #ranking[data-mode="session"] and the view idle; found mode ${show(shown.mode)}, #status ${show(shown.status)}`);
  });

  const matrix = await server.matrix();
  const stored = matrix.criteria_weights[plan.criterion];
  check(closeTo(stored, plan.to), `after apply: the server's weight of ${plan.criterion}: expected ${plan.to}, found ${stored}`);
  const shown = await frame.evaluate(readView);
  checkShowsMatrix('view after apply', shown, matrix);
  return { matrix, applyCalls: updates.length };
}

/**
 * The view beside an evaluate_options result, which holds no matrix: it asks the server for
 * the session's matrix through the bridge and draws that.
 */
async function checkFromEvaluation(browser, server, viewHtml, errors) {
  const evaluated = await server.call('evaluate_options', { session_id: server.sessionId });
  check(!evaluated.isError, `evaluate_options failed: ${errorTextOf(evaluated)}`);
  // The evaluation may have judged cells again: the view must show the matrix as it is now.
  const matrix = payloadOf(await server.call('get_decision_matrix', { session_id: server.sessionId }));
  const view = await openView(browser, server, viewHtml, evaluated, errors);
  try {
    const asked = await bridgeToolCalls(view.page, 'get_decision_matrix');
    check(asked.length >= 1, 'beside an evaluate_options result the view never asked for the matrix');
    checkShowsMatrix('view beside evaluate_options', await view.frame.evaluate(readView), matrix);
    return matrix;
  } finally {
    await view.context.close();
  }
}

// ---------- exports ----------

/**
 * The HTML standard's parse errors in `html` (parse5 reports each as the specification names
 * it, e.g. `end-tag-without-matching-open-element`), as `code at line:col` strings.
 */
function htmlParseErrors(html) {
  const errors = [];
  parseHtml(html, {
    sourceCodeLocationInfo: true,
    onParseError: (e) => errors.push(`${e.code} at ${e.startLine}:${e.startCol}`),
  });
  return errors;
}

/**
 * Step 8: the standalone report is valid HTML (no parse error) and draws the same matrix from
 * file://, fetching nothing.
 */
async function checkReport(browser, server, matrix, out, errors) {
  const file = path.join(out, 'report.html');
  const html = await server.export('html');
  checkSameList('report.html: HTML parse errors', [], htmlParseErrors(html));
  await fs.writeFile(file, html);
  const url = pathToFileURL(file).href;
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light' });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    watchErrors(page, 'report', errors);
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: WAIT_MS })
      .catch(async () => {
        const status = await page.evaluate(() => document.getElementById('status').textContent);
        throw new Failure(`report.html never set body[data-ready="true"]; #status ${show(status)}`);
      });
    checkShowsMatrix('report.html', await page.evaluate(readView), matrix);
    checkSameList('report.html: network requests', [url], requests);
    const shot = path.join(out, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    return shot;
  } finally {
    await context.close();
  }
}

/** The SVG writes a score as the view does (svg.rs's score_text): `7`, `7.3`; `no score` for none. */
function svgScoreMatches(text, score) {
  return text === (score == null ? 'no score' : viewScore(score));
}

/** Step 9: the chart parses as SVG and titles every cell with its score. */
async function checkSvg(browser, server, matrix, out) {
  const svg = await server.export('svg');
  const file = path.join(out, 'chart.svg');
  await fs.writeFile(file, svg);
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      const error = doc.getElementsByTagName('parsererror')[0];
      return { error: error ? error.textContent : null, root: doc.documentElement.localName };
    }, svg);
    check(!parsed.error, `chart.svg is not well-formed XML: ${parsed.error}`);
    check(parsed.root === 'svg', `chart.svg: expected an <svg> root, found <${parsed.root}>`);

    await page.goto(pathToFileURL(file).href);
    const titles = await page.evaluate(() => [...document.querySelectorAll('g > title')].map((t) => t.textContent));
    for (const cell of expectedCells(matrix)) {
      const prefix = `${cell.option} on ${cell.criterion}: `;
      const title = titles.find((t) => t.startsWith(prefix));
      check(title, `chart.svg: expected a <title> starting ${show(prefix)}, found none`);
      const scoreText = title.slice(prefix.length).split(' (')[0];
      check(svgScoreMatches(scoreText, cell.score),
        `chart.svg: ${show(prefix)} expected score ${cell.score == null ? '"no score"' : cell.score}, found ${show(scoreText)}`);
    }
  } finally {
    await context.close();
  }
}

// ---------- the run ----------

/** `get_decision_matrix` for an evaluated session: the tool result and its matrix. */
async function evaluatedMatrix(server, session) {
  const toolResult = await server.call('get_decision_matrix', { session_id: session });
  check(!toolResult.isError, `get_decision_matrix failed: ${errorTextOf(toolResult)}`);
  const matrix = payloadOf(toolResult);
  check(matrix && matrix.matrix && Array.isArray(matrix.rankings), `session ${session} has no matrix yet`);
  return { toolResult, matrix };
}

async function launchChromium(opts) {
  return chromium.launch({ executablePath: opts.chromium, args: ['--no-sandbox'], timeout: WAIT_MS })
    .catch((e) => { throw new Failure(`cannot launch Chromium at ${opts.chromium}: ${e.message.split('\n')[0]}`); });
}

/**
 * `--measure N`, for the benchmark: the view rendered N times, each in a fresh page (after
 * one untimed render), checked each time; returns the render times and the view's size.
 * Nothing is changed in the session.
 */
async function measure(opts) {
  check(Number.isInteger(opts.measure) && opts.measure > 0, `--measure takes a count, found ${show(opts.measure)}`);
  const server = await Server.connect(opts.url, opts.session);
  let browser = null;
  try {
    const viewHtml = await checkViewIsPublished(server);
    const { toolResult, matrix } = await evaluatedMatrix(server, opts.session);
    browser = await launchChromium(opts);
    const renderMs = [];
    for (let i = 0; i <= opts.measure; i += 1) {
      const errors = [];
      const view = await openView(browser, server, viewHtml, toolResult, errors);
      checkShowsMatrix('view', await view.frame.evaluate(readView), matrix);
      checkNoErrors(errors);
      if (i > 0) renderMs.push(view.renderMs);
      await view.context.close();
    }
    return { render_ms: renderMs, view_bytes: Buffer.byteLength(viewHtml, 'utf8') };
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }
}

async function run(opts) {
  if (opts.measure != null) return measure(opts);
  await fs.mkdir(opts.out, { recursive: true });
  const errors = [];
  const server = await Server.connect(opts.url, opts.session);
  let browser = null;
  let page = null;
  try {
    const viewHtml = await checkViewIsPublished(server);
    const { toolResult, matrix } = await evaluatedMatrix(server, opts.session);

    browser = await launchChromium(opts);
    const view = await openView(browser, server, viewHtml, toolResult, errors);
    page = view.page;
    const cells = checkShowsMatrix('view', await view.frame.evaluate(readView), matrix);
    checkNoErrors(errors);
    const screenshots = await screenshotThemes(page, view.frame, opts.out);

    const whatIf = await moveWeightByKeyboard(page, view.frame, server, matrix);
    const applied = await applyByKeyboard(page, view.frame, server, whatIf.plan);
    const hostErrors = await page.evaluate(() => window.hostState.errors);
    errors.push(...hostErrors.map((e) => `host: ${e}`));
    checkNoErrors(errors);

    const current = await checkFromEvaluation(browser, server, viewHtml, errors);
    screenshots.push(await checkReport(browser, server, current, opts.out, errors));
    await checkSvg(browser, server, current, opts.out);
    checkNoErrors(errors);

    return {
      ok: true,
      cells,
      what_if_calls: whatIf.whatIfCalls,
      apply_calls: applied.applyCalls,
      render_ms: view.renderMs,
      view_bytes: Buffer.byteLength(viewHtml, 'utf8'),
      screenshots,
    };
  } catch (e) {
    await saveEvidence(page, opts.out);
    throw e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }
}

/** On failure: the bridge log and a picture of the host page, for whoever reads the error. */
async function saveEvidence(page, out) {
  if (!page) return;
  try {
    await fs.writeFile(path.join(out, 'bridge-log.json'), JSON.stringify(await bridgeLog(page), null, 1));
    await page.screenshot({ path: path.join(out, 'failure.png'), fullPage: true });
  } catch {
    // The page may be gone; the error itself is what matters.
  }
}

async function main() {
  // However a wait misbehaves, the run ends: the Rust test reads "gave up" rather than hanging.
  const watchdog = setTimeout(() => {
    process.stderr.write(`drive.mjs: FAILED: gave up after ${RUN_MS / 1000} s\n`);
    process.exit(1);
  }, RUN_MS);
  watchdog.unref();
  let code = 1;
  try {
    const result = await run(parseCli());
    process.stdout.write(JSON.stringify(result) + '\n');
    code = 0;
  } catch (e) {
    const message = e instanceof Failure ? e.message : (e && e.stack) || String(e);
    process.stderr.write(`drive.mjs: FAILED: ${message}\n`);
  }
  // Exit now: a socket the SDK or Playwright left open must not keep the process alive.
  process.exit(code);
}

await main();
