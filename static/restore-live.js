/*
 * The restore page, live: follows GET /api/restores/:id/events (the backups' `progress` events,
 * then one `done`) and fills the counters the server rendered; on `done` it swaps in the final
 * summary the server renders (/snapshots/restores/:id/status) and announces the outcome. When the
 * stream cannot be opened (say, too many live views: 429) it re-reads the summary every few
 * seconds instead, so the page still ends on the final state.
 */
(() => {
  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  const PHASES = { queued: "Waiting to start", starting: "Starting", "backing-up": "Restoring", finished: "Finished" };

  // The same text as src/util/bytes.ts, so live and server-rendered numbers read alike.
  function bytes(n) {
    let value = n;
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit++;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
  }

  function duration(seconds) {
    const total = Math.round(seconds);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
    if (m > 0) return `${m}m${String(s).padStart(2, "0")}s`;
    return `${s}s`;
  }

  function set(box, name, text) {
    const el = box.querySelector(`[data-field="${name}"]`);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function render(box, d) {
    const known = d.bytesTotal > 0 && d.phase === "backing-up";
    const percent = known ? Math.min(100, Math.floor((d.bytesDone * 100) / d.bytesTotal)) : null;
    const data = d.bytesTotal > 0 ? `${bytes(d.bytesDone)} of ${bytes(d.bytesTotal)}` : bytes(d.bytesDone);
    set(box, "phase", PHASES[d.phase] || d.phase);
    set(box, "percent", percent === null ? "" : `${percent}%`);
    set(box, "files", d.filesTotal > 0 ? `${d.filesDone} of ${d.filesTotal}` : String(d.filesDone));
    set(box, "bytes", data);
    set(box, "rate", d.rate > 0 ? `${bytes(Math.round(d.rate))}/s` : "—");
    set(box, "eta", d.eta === null ? "—" : duration(d.eta));
    set(box, "errors", String(d.errors));
    const bar = box.querySelector("progress");
    if (bar && percent !== null) {
      bar.value = percent;
      bar.textContent = `${percent}%`;
      bar.setAttribute("aria-valuetext", `${percent}% (${data})`);
    }
    const current = box.querySelector('[data-field="current"]');
    if (current) {
      current.hidden = !d.currentPath;
      const code = current.querySelector("code");
      if (code && d.currentPath) code.textContent = d.currentPath;
    }
    const status = box.querySelector("[data-status]");
    if (status && d.phase !== "queued" && status.dataset.status === "queued") {
      status.dataset.status = "running";
      status.textContent = "running";
      status.className = "run-status status-running";
    }
  }

  /** Replaces the box with the server's current summary; the new box, or null on failure. */
  async function refresh(box) {
    const res = await fetch(box.dataset.final, { headers: { accept: "text/html" }, credentials: "same-origin" });
    if (!res.ok) return null;
    const holder = document.createElement("div");
    holder.innerHTML = await res.text();
    const next = holder.firstElementChild;
    if (!next) return null;
    box.replaceWith(next);
    return next;
  }

  function announce(box) {
    const out = document.getElementById("restore-announce");
    const status = box.querySelector("[data-status]");
    if (out && status) out.textContent = `Restore ${status.dataset.status}.`;
  }

  function poll(box) {
    setTimeout(async () => {
      const next = (await refresh(box).catch(() => null)) || box;
      if (next.dataset.live) poll(next);
      else announce(next);
    }, 3000);
  }

  function follow(box) {
    if (!box?.dataset.live) return;
    if (!("EventSource" in window)) return poll(box);
    let ended = false;
    const source = new EventSource(box.dataset.live);
    source.addEventListener("progress", (e) => render(box, JSON.parse(e.data)));
    source.addEventListener("done", async () => {
      ended = true;
      source.close();
      const next = await refresh(box).catch(() => null);
      if (next) announce(next);
      else window.location.reload();
    });
    source.addEventListener("error", () => {
      // The browser retries a dropped stream itself; a refused one (404, 429) stays closed.
      if (!ended && source.readyState === EventSource.CLOSED) poll(box);
    });
  }

  follow(document.getElementById("restore-status"));
})();
