/** The page's stylesheet (inline: the page loads nothing else). Sized for a laptop screen. */
export const pageStyles = `
:root {
  --bg: #eef2f7; --panel: #ffffff; --ink: #0f172a; --muted: #64748b; --line: #dbe3ee;
  --navy: #0b1b33; --accent: #2563eb; --ok: #16a34a; --bad: #dc2626; --skip: #94a3b8;
  --radius: 8px; --shadow: 0 1px 2px rgba(15, 23, 42, .06), 0 1px 3px rgba(15, 23, 42, .08);
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body {
  display: flex; flex-direction: column; background: var(--bg); color: var(--ink);
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
b { font-weight: 600; }
button { font: inherit; color: inherit; }
.mono, .tile-user, .card-id, .tl-time, .drawer-title { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; }

/* header */
.top { display: flex; align-items: center; gap: 24px; padding: 0 18px; height: 46px; background: var(--navy); color: #e2e8f0; flex: none; }
.brand { display: flex; align-items: center; gap: 10px; font-size: 15px; font-weight: 650; color: #fff; letter-spacing: .2px; }
.logo { width: 18px; height: 18px; border-radius: 5px; background: conic-gradient(#3b82f6 0 25%, #f59e0b 0 50%, #a855f7 0 75%, #22c55e 0); }
.top-facts { display: flex; gap: 18px; color: #94a3b8; }
.top-facts b { color: #fff; }
.live { margin-left: auto; display: flex; align-items: center; gap: 8px; color: #cbd5e1; }
.live-dot { width: 9px; height: 9px; border-radius: 50%; background: #64748b; }
.live.on .live-dot { background: #22c55e; box-shadow: 0 0 0 3px rgba(34, 197, 94, .25); animation: breathe 2s infinite; }
.live.off .live-dot { background: #ef4444; }
@keyframes breathe { 50% { box-shadow: 0 0 0 6px rgba(34, 197, 94, .05); } }

/* batches */
.batches { flex: none; display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 8px; padding: 10px 14px 0; }
.batches:empty { display: none; }
.batch { background: var(--panel); border-radius: var(--radius); box-shadow: var(--shadow); padding: 8px 12px; display: grid; grid-template-columns: 1fr auto; gap: 4px 12px; align-items: center; }
.batch-title { display: flex; align-items: center; gap: 8px; min-width: 0; }
.batch-title .card-id { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.batch-pct { font-size: 18px; font-weight: 650; text-align: right; font-variant-numeric: tabular-nums; }
.batch .bar { grid-column: 1 / -1; height: 10px; }
.batch-meta { grid-column: 1 / -1; color: var(--muted); font-size: 12px; display: flex; gap: 12px; flex-wrap: wrap; }
.batch-more { align-self: center; color: var(--muted); padding: 8px; }

.bar { display: flex; height: 8px; border-radius: 99px; overflow: hidden; background: #e5eaf1; }
.bar > i { display: block; height: 100%; transition: width .4s ease; }
.bar .done { background: var(--ok); }
.bar .failed { background: var(--bad); }
.bar .skipped { background: var(--skip); }
.n-done { color: var(--ok); } .n-failed { color: var(--bad); } .n-skipped { color: #64748b; }

/* toolbar */
.toolbar { flex: none; display: flex; align-items: center; flex-wrap: wrap; gap: 8px 14px; padding: 10px 14px; }
.filter { display: flex; align-items: center; gap: 6px; color: var(--muted); }
.filter input, .filter select { font: inherit; color: var(--ink); background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; min-width: 120px; }
.filter input:focus, .filter select:focus { outline: 2px solid rgba(37, 99, 235, .35); border-color: var(--accent); }
.link { background: none; border: 0; color: var(--accent); cursor: pointer; padding: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin-left: auto; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 9px 2px 7px; border-radius: 99px; background: var(--panel); border: 1px solid var(--line); white-space: nowrap; font-size: 12px; }
button.chip { cursor: pointer; }
button.chip.on { border-color: var(--ink); box-shadow: inset 0 0 0 1px var(--ink); }
.chip .dot { width: 9px; height: 9px; border-radius: 50%; flex: none; }
.chip .n { color: var(--muted); font-variant-numeric: tabular-nums; }

/* main */
.main { flex: 1; min-height: 0; display: flex; }
.instances { flex: 1; min-width: 0; overflow: auto; display: grid; grid-auto-flow: column; grid-auto-columns: minmax(300px, 1fr); gap: 12px; padding: 0 14px 14px; align-items: start; }
.instance { background: var(--panel); border-radius: var(--radius); box-shadow: var(--shadow); display: flex; flex-direction: column; min-height: 120px; }
.instance.silent { opacity: .6; background: repeating-linear-gradient(135deg, #fff 0 10px, #f8fafc 10px 20px); }
.inst-head { padding: 10px 12px 10px; border-bottom: 1px solid var(--line); position: sticky; top: 0; background: inherit; border-radius: var(--radius) var(--radius) 0 0; z-index: 1; }
.inst-name { display: flex; align-items: baseline; gap: 8px; }
.inst-name b { font-size: 15px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.inst-facts { margin-left: auto; color: var(--muted); font-size: 12px; white-space: nowrap; }
.inst-now { margin: 4px 0 8px; color: #334155; min-height: 18px; }
.inst-now .verb { font-weight: 600; }
.dist { display: flex; height: 6px; border-radius: 99px; overflow: hidden; background: #eef2f7; }
.dist > i { display: block; height: 100%; transition: width .4s ease; }
.group { padding: 8px 12px 2px; color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .6px; display: flex; justify-content: space-between; }
.cards, .tiles { padding: 4px 12px 8px; display: grid; gap: 6px; }
.tiles { grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); }
.empty-note { padding: 10px 12px 14px; color: var(--muted); }

.card, .tile { text-align: left; border: 1px solid var(--line); border-left: 4px solid var(--c, #94a3b8); background: var(--panel); border-radius: 6px; cursor: pointer; transition: background-color .35s, border-color .35s, box-shadow .2s; }
.card:hover, .tile:hover { box-shadow: 0 2px 8px rgba(15, 23, 42, .12); }
.card.sel, .tile.sel { outline: 2px solid var(--accent); outline-offset: 1px; }
.card { padding: 7px 10px; display: grid; gap: 5px; }
.card-top { display: flex; align-items: center; gap: 8px; }
.card-id { font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card-meta { color: var(--muted); font-size: 12px; display: flex; gap: 10px; }
.tile { padding: 6px 8px 6px 8px; display: grid; grid-template-columns: 1fr; gap: 2px; min-width: 0; }
.tile-user { font-size: 12px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tile-state { font-size: 12px; color: var(--sc, #475569); font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tile-meta { font-size: 11px; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tile .bar { height: 4px; margin-top: 2px; }
.tile .bar > i { background: var(--c); }
.tile.stopped, .card.stopped { opacity: .45; }
.tile.resting { border-left-width: 3px; }
.tile.resting .tile-state { color: var(--muted); font-weight: 500; }
.changed { animation: pulse 1s ease-out; }
@keyframes pulse { 0% { box-shadow: 0 0 0 0 var(--c); } 100% { box-shadow: 0 0 0 6px transparent; } }
.state-pill { display: inline-flex; align-items: center; gap: 5px; font-size: 12px; font-weight: 600; color: var(--sc); }
.state-pill::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--c); }
.recent { list-style: none; margin: 0; padding: 2px 12px 10px; font-size: 12px; }
.recent li { display: grid; grid-template-columns: 62px minmax(70px, 150px) 1fr; gap: 8px; padding: 2px 0; align-items: baseline; }
.recent-name { font-family: ui-monospace, Menlo, Consolas, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.recent-what { white-space: nowrap; }
.state-word { font-weight: 600; }
.recent-note { color: var(--muted); font-style: italic; }
.more { color: var(--muted); padding: 6px 2px; font-size: 12px; }

/* empty / no instances */
.nothing { grid-column: 1 / -1; align-self: center; justify-self: center; text-align: center; padding: 60px 20px; color: var(--muted); }
.nothing h2 { margin: 0 0 8px; font-size: 22px; color: var(--ink); font-weight: 650; }
.nothing p { margin: 4px 0; }

/* drawer */
.drawer { width: min(560px, 46vw); flex: none; overflow: auto; background: var(--panel); border-left: 1px solid var(--line); box-shadow: -4px 0 12px rgba(15, 23, 42, .06); }
.drawer-head { position: sticky; top: 0; background: var(--panel); z-index: 2; padding: 12px 16px 10px; border-bottom: 1px solid var(--line); }
.drawer-title { display: flex; align-items: center; gap: 8px; font-size: 14px; font-weight: 600; }
.drawer-title span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.drawer-close { margin-left: auto; border: 0; background: #f1f5f9; border-radius: 6px; width: 28px; height: 28px; cursor: pointer; font-size: 16px; line-height: 1; }
.drawer-chips { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.drawer section { padding: 10px 16px; border-bottom: 1px solid #eef2f7; }
.drawer h3 { margin: 0 0 8px; font-size: 11px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); font-weight: 600; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; font-size: 12px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .note { fill: #64748b; font-size: 10px; }
.timeline { list-style: none; margin: 0; padding: 0; font-size: 12px; }
.timeline li { display: grid; grid-template-columns: 92px 1fr auto; gap: 10px; padding: 4px 0; border-bottom: 1px dashed #eef2f7; align-items: center; }
.tl-time { color: var(--muted); font-size: 11px; }
.tl-event { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tl-event.observed { color: var(--muted); font-style: italic; }
.tl-ended { color: var(--muted); }
.tl-count { color: var(--muted); font-weight: 600; }
.gone { color: var(--bad); font-weight: 600; }

/* footer */
.bottom { flex: none; display: flex; gap: 18px; align-items: center; padding: 6px 14px; font-size: 12px; color: var(--muted); background: #e2e8f0; border-top: 1px solid var(--line); }
.bottom .right { margin-left: auto; display: flex; gap: 18px; }
.bottom .warn { color: #b45309; font-weight: 600; }
.banner { background: #fef3c7; color: #92400e; padding: 6px 14px; font-size: 12px; }
`;
