/**
 * The cinema's HTML5 player: custom controls (play/pause, seek bar with the buffered range,
 * volume, fullscreen, time, 360p/720p switch), resume position, and event tracking.
 *
 * The control buttons draw inline SVG icons (both states in each button, a class shows one) and
 * keep an aria-label naming what a click does.
 *
 * Tracked: pause (position), full view (at the end), quality change (from, to, position). Each
 * event gets a UUID and the client time when it happens and goes to an outbox kept in
 * localStorage; the outbox is flushed to POST /api/events on a timer, and with
 * navigator.sendBeacon when the page is hidden. A failed flush (network, 503) is retried with the
 * same event ids, so the collector and ClickHouse store each event once.
 */
(function () {
  'use strict';

  const FLUSH_EVERY_MS = 2000;
  const FLUSH_AT = 20;
  const MAX_BATCH = 200;
  const OUTBOX_KEY = 'ugc.outbox';
  const ANON_KEY = 'ugc.anonymous_id';
  const TOKEN_KEY = 'cinema.access_token';
  const DEFAULT_FILM = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
  const RENDITIONS = { '360p': 'media/clip-360p.webm', '720p': 'media/clip-720p.webm' };

  const params = new URLSearchParams(window.location.search);
  const filmId = (params.get('film') || DEFAULT_FILM).toLowerCase();
  const positionKey = 'ugc.position.' + filmId;

  const $ = (id) => document.getElementById(id);
  const player = $('player');
  const video = $('video');
  const playBtn = $('play');
  const track = $('track');
  const buffered = $('buffered');
  const played = $('played');
  const time = $('time');
  const mute = $('mute');
  const volume = $('volume');
  const quality = $('quality');
  const fullscreen = $('fullscreen');
  const status = $('status');

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return (
      h.slice(0, 8) +
      '-' +
      h.slice(8, 12) +
      '-' +
      h.slice(12, 16) +
      '-' +
      h.slice(16, 20) +
      '-' +
      h.slice(20)
    );
  }

  /* ---------- identity ---------- */
  function anonymousId() {
    let id = localStorage.getItem(ANON_KEY);
    if (!id) {
      id = uuid();
      localStorage.setItem(ANON_KEY, id);
    }
    return id;
  }
  let token = localStorage.getItem(TOKEN_KEY) || undefined;

  /* ---------- outbox ---------- */
  function loadOutbox() {
    try {
      const v = JSON.parse(localStorage.getItem(OUTBOX_KEY) || '[]');
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  }
  let outbox = loadOutbox();
  const save = () => localStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox));
  const sent = []; // event ids acknowledged with 202 (for tests and debugging)
  const tracked = []; // every event this page made (for tests and debugging)

  function track_(type, fields) {
    const event = Object.assign(
      { type, event_id: uuid(), film_id: filmId, client_time: new Date().toISOString() },
      fields,
    );
    outbox.push(event);
    tracked.push(event);
    save();
    if (outbox.length >= FLUSH_AT) void flush();
    return event;
  }

  let flushing = null;
  let retryAt = 0;
  async function flush() {
    if (flushing) return flushing;
    if (!outbox.length || Date.now() < retryAt) return;
    flushing = (async () => {
      const batch = outbox.slice(0, MAX_BATCH);
      const headers = { 'Content-Type': 'application/json', 'X-Anonymous-Id': anonymousId() };
      if (token) headers.Authorization = 'Bearer ' + token;
      try {
        const res = await fetch('/api/events', {
          method: 'POST',
          headers,
          body: JSON.stringify({ events: batch }),
          keepalive: true,
        });
        if (res.status === 202) {
          drop(batch);
          batch.forEach((e) => sent.push(e.event_id));
          status.textContent = 'events sent: ' + sent.length;
        } else if (res.status === 401 && token) {
          // An expired or foreign token: keep tracking as the anonymous viewer.
          token = undefined;
        } else if (res.status === 429 || res.status >= 500) {
          retryAt = Date.now() + 1000 * Number(res.headers.get('Retry-After') || 2);
        } else {
          // The collector refused these events (4xx): resending would not help.
          console.warn('ugc: events refused', res.status, await res.text());
          drop(batch);
        }
      } catch {
        retryAt = Date.now() + 2000; // network: retry later with the same event ids
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  }
  function drop(batch) {
    const ids = new Set(batch.map((e) => e.event_id));
    outbox = outbox.filter((e) => !ids.has(e.event_id));
    save();
  }

  /** On hide: hand what is left to the browser, which delivers it after the page is gone. */
  function beacon() {
    if (!outbox.length || !navigator.sendBeacon) return;
    const body = { events: outbox.slice(0, MAX_BATCH), anonymous_id: anonymousId() };
    if (token) body.access_token = token;
    const blob = new Blob([JSON.stringify(body)], { type: 'text/plain' });
    if (navigator.sendBeacon('/api/events', blob)) drop(body.events);
  }

  window.setInterval(() => void flush(), FLUSH_EVERY_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') beacon();
  });
  window.addEventListener('pagehide', beacon);

  /* ---------- player ---------- */
  let current = localStorage.getItem('ugc.quality') || '360p';
  if (!RENDITIONS[current]) current = '360p';
  quality.value = current;
  let switching = false;

  const fmt = (s) => {
    if (!Number.isFinite(s)) return '0:00';
    const m = Math.floor(s / 60);
    const sec = Math.floor(s % 60);
    return m + ':' + String(sec).padStart(2, '0');
  };
  function render() {
    const d = video.duration || 0;
    played.style.width = d ? (100 * video.currentTime) / d + '%' : '0';
    let end = 0;
    for (let i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= video.currentTime) end = Math.max(end, video.buffered.end(i));
    }
    buffered.style.width = d ? (100 * end) / d + '%' : '0';
    time.textContent = fmt(video.currentTime) + ' / ' + fmt(d);
    playBtn.classList.toggle('playing', !video.paused);
    playBtn.setAttribute('aria-label', video.paused ? 'Play' : 'Pause');
  }

  function load(name, at, resume) {
    switching = true;
    video.src = RENDITIONS[name];
    video.addEventListener(
      'loadedmetadata',
      () => {
        if (at > 0 && at < video.duration) video.currentTime = at;
        switching = false;
        if (resume) void video.play();
        render();
      },
      { once: true },
    );
  }

  const saved = Number(localStorage.getItem(positionKey) || 0);
  load(current, saved, false);

  playBtn.addEventListener('click', () => (video.paused ? void video.play() : video.pause()));
  video.addEventListener('click', () => (video.paused ? void video.play() : video.pause()));

  function seekTo(clientX) {
    const r = track.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    if (video.duration) video.currentTime = f * video.duration;
  }
  track.addEventListener('pointerdown', (e) => {
    seekTo(e.clientX);
    const move = (ev) => seekTo(ev.clientX);
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  });
  track.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight') video.currentTime = Math.min(video.duration, video.currentTime + 5);
    if (e.key === 'ArrowLeft') video.currentTime = Math.max(0, video.currentTime - 5);
  });

  volume.addEventListener('input', () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });
  mute.addEventListener('click', () => {
    video.muted = !video.muted;
  });
  video.addEventListener('volumechange', () => {
    mute.classList.toggle('muted', video.muted);
    mute.setAttribute('aria-label', video.muted ? 'Unmute' : 'Mute');
    if (!video.muted) volume.value = String(video.volume);
  });

  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void player.requestFullscreen();
  });
  document.addEventListener('fullscreenchange', () => {
    const active = document.fullscreenElement === player;
    fullscreen.classList.toggle('active', active);
    fullscreen.setAttribute('aria-label', active ? 'Exit fullscreen' : 'Fullscreen');
  });

  quality.addEventListener('change', () => {
    const to = quality.value;
    if (to === current) return;
    const position = video.currentTime;
    track_('quality_change', { from_quality: current, to_quality: to, position_sec: position });
    current = to;
    localStorage.setItem('ugc.quality', to);
    load(to, position, !video.paused);
  });

  video.addEventListener('pause', () => {
    // The pause fired at the very end belongs to the full view, not to the viewer.
    if (switching || video.ended) return;
    track_('pause', { position_sec: video.currentTime });
    localStorage.setItem(positionKey, String(video.currentTime));
  });
  video.addEventListener('ended', () => {
    track_('full_view', { duration_sec: video.duration });
    localStorage.removeItem(positionKey);
    void flush();
  });
  let lastSaved = 0;
  video.addEventListener('timeupdate', () => {
    render();
    if (Date.now() - lastSaved > 1000 && !video.ended) {
      lastSaved = Date.now();
      localStorage.setItem(positionKey, String(video.currentTime));
    }
  });
  ['play', 'pause', 'progress', 'durationchange', 'seeked'].forEach((e) =>
    video.addEventListener(e, render),
  );

  /** For tests and debugging. */
  window.ugcPlayer = {
    filmId,
    video,
    flush,
    outbox: () => outbox.slice(),
    sent: () => sent.slice(),
    tracked: () => tracked.slice(),
    quality: () => current,
    anonymousId,
  };
})();
