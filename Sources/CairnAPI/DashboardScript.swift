/// The dashboard's script: plain JavaScript, no build step, no network access beyond this origin.
///
/// Every piece of text from the API goes into the page through `textContent` (the `el` helper), never as markup,
/// so an account name or event property holding `<script>` shows as text. The API token comes from a sign-in form
/// or, once, from `?token=` (removed from the address bar at once) and is kept in `sessionStorage`.
extension DashboardPage {
    static let script = #"""
        'use strict';
        const STAGES = ['awareness', 'lead', 'purchase', 'kickoff', 'onboarding', 'adoption', 'retention', 'expansion', 'advocacy', 'at_risk', 'churned'];
        const COLORS = { green: '#2e8540', yellow: '#d6a000', red: '#c0392b' };
        const state = { token: null, refreshTimer: null, aggregateTimer: null, streamAbort: null, lastEventId: null };

        function el(tag, attributes, ...children) {
          const node = document.createElement(tag);
          for (const [key, value] of Object.entries(attributes || {})) {
            if (value === null || value === undefined || value === false) continue;
            if (key === 'class') node.className = value;
            else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
            else node.setAttribute(key, String(value));
          }
          for (const child of children.flat()) {
            if (child === null || child === undefined) continue;
            node.append(child instanceof Node ? child : document.createTextNode(String(child)));
          }
          return node;
        }
        const svgNS = 'http://www.w3.org/2000/svg';
        function svg(tag, attributes, ...children) {
          const node = document.createElementNS(svgNS, tag);
          for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
          for (const child of children.flat()) {
            if (child === null || child === undefined) continue;
            node.append(child instanceof Node ? child : document.createTextNode(String(child)));
          }
          return node;
        }
        function replace(id, ...children) { const node = document.getElementById(id); node.replaceChildren(...children.flat()); return node; }
        function band(name) { return el('span', { class: 'band ' + (name || '') }, name || 'none'); }
        function day(text) { return text ? String(text).slice(0, 10) : ''; }
        function percent(value) { return value === null || value === undefined ? '' : Math.round(value * 100) + '%'; }
        function accountLink(id, name) { return el('a', { href: '#/account/' + encodeURIComponent(id), 'data-account': id }, name || id); }

        class Unauthorized extends Error {}
        async function api(path) {
          const response = await fetch(path, { headers: { Authorization: 'Bearer ' + state.token } });
          if (response.status === 401) throw new Unauthorized();
          const body = await response.json();
          if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
          return body;
        }

        // Sign-in: ?token= once (then removed from the address bar), or the form; kept for this tab only.
        function takeToken() {
          const url = new URL(window.location.href);
          const fromURL = url.searchParams.get('token');
          if (fromURL) {
            sessionStorage.setItem('cairn.token', fromURL);
            url.searchParams.delete('token');
            history.replaceState(null, '', url.pathname + url.search + url.hash);
          }
          state.token = sessionStorage.getItem('cairn.token');
        }
        function showLogin(message) {
          sessionStorage.removeItem('cairn.token');
          state.token = null;
          if (state.streamAbort) state.streamAbort.abort();
          document.getElementById('overview').hidden = true;
          document.getElementById('account').hidden = true;
          document.getElementById('logout').hidden = true;
          document.getElementById('login').hidden = false;
          document.getElementById('login-error').textContent = message || '';
        }
        function failed(error) {
          if (error instanceof Unauthorized) showLogin('That token was refused.');
          else console.error(error);
        }

        // Journey map: accounts per stage per segment, with conversion and median days in stage.
        async function loadFunnel() {
          const { segments } = await api('/api/v1/funnel');
          const head = el('tr', {}, el('th', {}, 'segment'), STAGES.map(s => el('th', { class: 'num' }, s.replace('_', ' '))));
          const rows = segments.map(segment => {
            const byStage = Object.fromEntries(segment.stages.map(s => [s.stage, s]));
            return el('tr', { 'data-segment': segment.segment }, el('th', {}, segment.segment + ' (' + segment.accounts + ')'),
              STAGES.map(stage => {
                const s = byStage[stage] || { accounts: 0 };
                const detail = [s.conversionToNext !== null && s.conversionToNext !== undefined ? '→ ' + percent(s.conversionToNext) : null,
                  s.medianDaysInStage !== null && s.medianDaysInStage !== undefined ? Math.round(s.medianDaysInStage) + ' d' : null].filter(Boolean).join(' · ');
                return el('td', { class: 'num', 'data-stage': stage }, el('strong', {}, s.accounts), detail ? el('div', { class: 'muted' }, detail) : null);
              }));
          });
          replace('funnel', segments.length ? el('table', {}, el('thead', {}, head), el('tbody', {}, rows)) : el('p', { class: 'muted' }, 'No accounts yet.'));
        }

        // Health distribution: stacked bars per segment, drawn as SVG.
        async function loadDistribution() {
          const data = await api('/api/v1/health/distribution');
          const rows = [data.total].concat(data.segments);
          const width = 220, barHeight = 18, gap = 8, label = 110;
          const chart = svg('svg', { width: width + label + 40, height: rows.length * (barHeight + gap) + 4, role: 'img' });
          rows.forEach((row, index) => {
            const y = index * (barHeight + gap);
            chart.append(svg('text', { x: 0, y: y + 13 }, (row.segment || 'all') + ' (' + row.accounts + ')'));
            let x = label;
            for (const name of ['green', 'yellow', 'red']) {
              const w = row.accounts ? width * row[name] / row.accounts : 0;
              if (w > 0) chart.append(svg('rect', { x, y, width: w, height: barHeight, class: name, fill: COLORS[name] },
                svg('title', {}, name + ': ' + row[name])));
              x += w;
            }
            chart.append(svg('text', { x: label + width + 4, y: y + 13 }, row.averageScore === null ? '' : Math.round(row.averageScore)));
          });
          const table = el('table', {}, el('tr', {}, ['segment', 'green', 'yellow', 'red'].map(h => el('th', {}, h))),
            rows.map(r => el('tr', { 'data-segment': r.segment || 'all' }, el('td', {}, r.segment || 'all'), el('td', { class: 'num' }, r.green), el('td', { class: 'num' }, r.yellow), el('td', { class: 'num' }, r.red))));
          replace('distribution', chart, table);
        }

        // A paged list: the first page now, "More" for the next, from the API's cursors.
        function pagedList(containerId, path, render) {
          const container = document.getElementById(containerId);
          const body = el('tbody');
          const more = el('button', { type: 'button', class: 'more', hidden: true }, 'More');
          let cursor = null;
          async function next() {
            const separator = path.includes('?') ? '&' : '?';
            const page = await api(path + (cursor ? separator + 'cursor=' + encodeURIComponent(cursor) : ''));
            page.items.forEach(item => body.append(render(item)));
            cursor = page.nextCursor;
            more.hidden = !cursor;
            if (!body.children.length) body.append(el('tr', {}, el('td', { class: 'muted' }, 'None.')));
          }
          more.addEventListener('click', () => next().catch(failed));
          container.replaceChildren(el('table', {}, body), more);
          return next();
        }
        function reasons(health) {
          if (!health) return '';
          const weak = (health.components || []).filter(c => c.score < 60).sort((a, b) => a.score - b.score).slice(0, 3).map(c => c.name + ': ' + c.reason);
          return weak.length ? weak.join('; ') : health.explanation;
        }
        const loadAtRisk = () => pagedList('at-risk', '/api/v1/accounts?atRisk=true&sort=score&limit=20', a => el('tr', { 'data-account': a.accountId },
          el('td', {}, accountLink(a.accountId, a.name)), el('td', {}, a.segment || ''), el('td', {}, a.stage),
          el('td', {}, a.health ? band(a.health.band) : ''), el('td', { class: 'num' }, a.health ? a.health.score : ''),
          el('td', { class: 'reasons' }, reasons(a.health))));
        const loadBandChanges = () => pagedList('band-changes', '/api/v1/health/changes?limit=15', c => el('tr', { 'data-account': c.accountId },
          el('td', {}, accountLink(c.accountId, c.name)), el('td', {}, band(c.from), ' → ', band(c.to)), el('td', { class: 'num' }, c.score), el('td', { class: 'muted' }, day(c.at))));
        const loadRenewals = () => pagedList('renewals', '/api/v1/renewals?days=120&limit=20', a => el('tr', { 'data-account': a.accountId },
          el('td', {}, day(a.renewalDate)), el('td', {}, accountLink(a.accountId, a.name)), el('td', { class: 'num' }, a.arr === null ? '' : Math.round(a.arr).toLocaleString()),
          el('td', {}, a.health ? band(a.health.band) : '')));

        async function loadQueues() {
          const { assignees } = await api('/api/v1/tasks/load');
          const max = Math.max(1, ...assignees.map(a => a.open + a.acknowledged));
          replace('queues', assignees.length ? el('table', {}, assignees.slice(0, 30).map(a => el('tr', { 'data-assignee': a.assignee },
            el('td', {}, a.assignee),
            el('td', {}, svg('svg', { width: 160, height: 12 }, svg('rect', { x: 0, y: 0, height: 12, width: 160 * (a.open + a.acknowledged) / max, fill: '#4a6fa5' }))),
            el('td', { class: 'num' }, a.open + a.acknowledged), el('td', { class: 'num' + (a.overdue ? ' error' : '') }, a.overdue ? a.overdue + ' overdue' : '')))) : el('p', { class: 'muted' }, 'No open tasks.'));
        }

        async function loadOverview() {
          await Promise.all([loadFunnel(), loadDistribution(), loadAtRisk(), loadBandChanges(), loadRenewals(), loadQueues()]);
          document.body.dataset.loaded = String(Date.now());
        }

        // Account page: journey, health with its chart, people, tasks, timeline.
        function healthChart(points) {
          const width = 520, height = 140;
          const chart = svg('svg', { width, height: height + 20, id: 'health-chart', role: 'img' });
          chart.append(svg('rect', { x: 0, y: 0, width, height, fill: '#fafafa', stroke: '#ddd' }));
          if (points.length) {
            const step = points.length > 1 ? width / (points.length - 1) : 0;
            const path = points.map((p, i) => (i ? 'L' : 'M') + (i * step).toFixed(1) + ',' + (height - p.score * height / 100).toFixed(1)).join(' ');
            chart.append(svg('path', { d: path, fill: 'none', stroke: '#4a6fa5', 'stroke-width': 2 }));
            chart.append(svg('text', { x: 0, y: height + 14 }, points[0].day), svg('text', { x: width - 70, y: height + 14 }, points[points.length - 1].day));
          }
          return chart;
        }
        async function loadAccount(id) {
          const main = document.getElementById('account');
          let a;
          try { a = await api('/api/v1/accounts/' + encodeURIComponent(id)); } catch (error) {
            if (error instanceof Unauthorized) throw error;
            main.replaceChildren(el('section', { class: 'wide' }, el('p', { class: 'error' }, String(error.message)))); return;
          }
          const h = a.health;
          const people = Object.entries(a.usersByPersona).filter(([, users]) => users.length).map(([persona, users]) =>
            el('tr', {}, el('th', {}, persona), el('td', {}, users.slice(0, 10).map(u => el('div', {}, u.userId, el('span', { class: 'muted' }, ' · ' + u.activeDaysLast30 + ' active days / 30' + (u.leftAt ? ' · left' : '')))))));
          const timelineBody = el('tbody');
          const more = el('button', { type: 'button', class: 'more', hidden: !a.timeline.nextCursor }, 'More');
          let cursor = a.timeline.nextCursor;
          const addEvents = items => items.forEach(e => timelineBody.append(el('tr', {}, el('td', { class: 'muted' }, String(e.occurredAt).replace('T', ' ').slice(0, 16)),
            el('td', {}, e.name || e.type), el('td', {}, e.userId || ''), el('td', { class: 'muted' }, e.properties && Object.keys(e.properties).length ? JSON.stringify(e.properties) : ''))));
          addEvents(a.timeline.items);
          more.addEventListener('click', async () => {
            try {
              const page = await api('/api/v1/accounts/' + encodeURIComponent(id) + '/timeline?limit=50&cursor=' + encodeURIComponent(cursor));
              addEvents(page.items); cursor = page.nextCursor; more.hidden = !cursor;
            } catch (error) { failed(error); }
          });
          main.replaceChildren(
            el('section', { class: 'wide' }, el('h2', { id: 'account-name' }, a.name || a.accountId),
              el('div', { class: 'kv' }, 'Account', a.accountId, 'Segment', a.segment || '', 'Stage', a.stage, 'CSM', a.csmId || 'unassigned',
                'Health', h ? el('span', {}, band(h.band), ' ', h.score) : 'not scored', 'ARR', a.contract && a.contract.arr !== null ? Math.round(a.contract.arr).toLocaleString() : '',
                'Renewal', a.contract ? day(a.contract.renewalDate) : '', 'Time to value', a.timeToValueDays === null || a.timeToValueDays === undefined ? '' : a.timeToValueDays.toFixed(1) + ' days'),
              h ? el('p', { class: 'reasons' }, h.explanation) : null),
            el('section', {}, el('h2', {}, 'Health'), healthChart(a.healthHistory),
              h ? el('table', {}, h.components.map(c => el('tr', {}, el('td', {}, c.name), el('td', { class: 'num' }, c.score), el('td', { class: 'num muted' }, Math.round(c.weight * 100) + '%'), el('td', { class: 'reasons' }, c.reason)))) : null),
            el('section', {}, el('h2', {}, 'Stage history'), el('table', { id: 'stage-history' }, a.stageHistory.map(v => el('tr', {}, el('td', {}, v.stage), el('td', {}, day(v.enteredAt)), el('td', {}, day(v.leftAt)), el('td', { class: 'reasons' }, v.reason)))),
              el('h2', {}, 'Milestones'), el('table', {}, a.milestones.map(m => el('tr', {}, el('td', {}, m.name), el('td', {}, m.status.replace('_', ' ')), el('td', { class: 'muted' }, 'due ' + day(m.dueAt)), el('td', {}, day(m.reachedAt)))))),
            el('section', {}, el('h2', {}, 'People'), el('table', {}, people), el('h2', {}, 'Open tasks'),
              el('table', {}, a.openTasks.length ? a.openTasks.map(t => el('tr', {}, el('td', {}, t.priority), el('td', {}, t.title), el('td', {}, t.assignee), el('td', { class: 'muted' }, 'due ' + day(t.dueAt)))) : el('tr', {}, el('td', { class: 'muted' }, 'None.')))),
            el('section', { class: 'wide' }, el('h2', {}, 'Timeline'), el('table', { id: 'timeline' }, timelineBody), more));
          document.body.dataset.loaded = String(Date.now());
        }

        // Live: server-sent events over fetch (so the token travels in a header), resumed with Last-Event-ID.
        function scheduleRefresh() {
          if (state.refreshTimer) return;
          state.refreshTimer = setTimeout(() => {
            state.refreshTimer = null;
            if (!document.getElementById('overview').hidden) loadOverview().catch(failed);
          }, 700);
        }
        function handleEvent(block) {
          let event = 'message', data = '', id = null;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event = value; else if (field === 'data') data += value; else if (field === 'id') id = value;
          }
          if (id) state.lastEventId = id;
          if (!data) return;
          const change = JSON.parse(data);
          const text = event === 'health' ? change.accountId + ': health ' + change.band + ' ' + change.score
            : event === 'stage' ? change.accountId + ': stage ' + change.stage
            : change.accountId + ': task ' + change.status + ' for ' + change.assignee;
          const feed = document.getElementById('feed');
          feed.prepend(el('li', { 'data-kind': event }, text));
          while (feed.children.length > 30) feed.lastChild.remove();
          scheduleRefresh();
        }
        async function stream() {
          const controller = new AbortController();
          state.streamAbort = controller;
          const live = document.getElementById('live');
          while (state.token && !controller.signal.aborted) {
            try {
              const headers = { Authorization: 'Bearer ' + state.token };
              if (state.lastEventId) headers['Last-Event-ID'] = state.lastEventId;
              const response = await fetch('/api/v1/stream', { headers, signal: controller.signal });
              if (response.status === 401) { showLogin('That token was refused.'); return; }
              if (!response.ok) throw new Error('stream ' + response.status);
              live.className = 'live on'; live.textContent = 'live';
              const reader = response.body.getReader();
              const decoder = new TextDecoder();
              let buffer = '';
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf('\n\n')) >= 0) { handleEvent(buffer.slice(0, end)); buffer = buffer.slice(end + 2); }
              }
            } catch (error) {
              if (controller.signal.aborted) return;
            }
            live.className = 'live off'; live.textContent = 'reconnecting';
            await new Promise(resolve => setTimeout(resolve, 2000));
          }
        }

        function route() {
          const match = location.hash.match(/^#\/account\/(.+)$/);
          document.getElementById('overview').hidden = !!match;
          document.getElementById('account').hidden = !match;
          (match ? loadAccount(decodeURIComponent(match[1])) : loadOverview()).catch(failed);
        }
        // The aggregates are answered from a cache a few seconds old at most, so a reload right after a live change
        // may still show the counts from before it: the overview's aggregates are reloaded every 10 s as well.
        function startAggregateReload() {
          if (state.aggregateTimer) return;
          state.aggregateTimer = setInterval(() => {
            if (state.token && !document.hidden && !document.getElementById('overview').hidden)
              Promise.all([loadFunnel(), loadDistribution()]).catch(failed);
          }, 10000);
        }
        function start() {
          document.getElementById('login').hidden = true;
          document.getElementById('logout').hidden = false;
          route();
          stream();
          startAggregateReload();
        }

        document.addEventListener('DOMContentLoaded', () => {
          document.getElementById('login').addEventListener('submit', event => {
            event.preventDefault();
            state.token = document.getElementById('token').value.trim();
            sessionStorage.setItem('cairn.token', state.token);
            start();
          });
          document.getElementById('logout').addEventListener('click', () => showLogin(''));
          window.addEventListener('hashchange', route);
          takeToken();
          if (state.token) start(); else showLogin('');
        });
        """#
}
