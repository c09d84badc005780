import { pageScript } from "./page-script";
import { pageStyles } from "./page-styles";

/** What {@link renderPage} puts into the page. */
export interface PageOptions {
  /** The CSP nonce of this response: only the page's own style and script run. */
  readonly nonce: string;
  /** The subject prefix watched, shown in the header. */
  readonly prefix: string;
  readonly refreshMs: number;
}

/**
 * The inspector's page: one HTML document with its CSS and JavaScript inline,
 * no external asset, no build step. It loads `/api/machines` once and follows
 * `/api/events`; everything else is drawn in the browser.
 *
 * @example
 * ```ts
 * res.end(renderPage({ nonce, prefix: "agg", refreshMs: 500 }));
 * ```
 */
export function renderPage(options: PageOptions): string {
  const nonce = escapeHtml(options.nonce);
  const config = JSON.stringify({ prefix: options.prefix, refreshMs: options.refreshMs })
    // Inside <script>, "</" could end the element early.
    .replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>agg inspector · ${escapeHtml(options.prefix)}</title>
<style nonce="${nonce}">${pageStyles}</style>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><span>agg inspector</span></div>
  <div class="top-facts">
    <span class="fact">prefix <b id="prefix"></b></span>
    <span class="fact"><b id="count-instances">0</b> instances</span>
    <span class="fact"><b id="count-actors">0</b> actors</span>
  </div>
  <div class="live" id="live"><span class="live-dot"></span><span id="live-text">connecting…</span></div>
</header>
<section class="batches" id="batches" aria-label="batches"></section>
<section class="toolbar" aria-label="filters">
  <label class="filter">user <input id="filter-user" type="search" placeholder="any user" autocomplete="off"></label>
  <label class="filter">batch <select id="filter-batch"><option value="">all batches</option></select></label>
  <label class="filter">state <select id="filter-state"><option value="">all states</option></select></label>
  <label class="filter">machine <select id="filter-machine"><option value="">all machines</option></select></label>
  <button type="button" id="filter-clear" class="link">clear</button>
  <div class="legend" id="legend" aria-label="states"></div>
</section>
<main class="main">
  <div class="instances" id="instances" aria-live="polite"></div>
  <aside class="drawer" id="drawer" hidden></aside>
</main>
<footer class="bottom" id="footer"></footer>
<script nonce="${nonce}" id="inspector-config" type="application/json">${config}</script>
<script nonce="${nonce}">${pageScript}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
