/// The dashboard's page and style sheet. The page is a shell; `dashboard.js` fills it from the API.
enum DashboardPage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Cairn</title>
        <link rel="stylesheet" href="/dashboard.css">
        <script src="/dashboard.js" defer></script>
        </head>
        <body>
        <header>
          <a href="#/" class="brand">Cairn</a>
          <span id="live" class="live off" title="live updates">offline</span>
          <button id="logout" type="button" hidden>Sign out</button>
        </header>
        <form id="login" hidden>
          <label>API token <input id="token" type="password" autocomplete="off" required></label>
          <button type="submit">Sign in</button>
          <p id="login-error" class="error"></p>
        </form>
        <main id="overview" hidden>
          <section class="wide"><h2>Journey map</h2><div id="funnel"></div></section>
          <section><h2>Health distribution</h2><div id="distribution"></div></section>
          <section><h2>CSM queue load</h2><div id="queues"></div></section>
          <section class="wide"><h2>At risk</h2><div id="at-risk"></div></section>
          <section><h2>Recent band changes</h2><div id="band-changes"></div></section>
          <section><h2>Renewals, next 120 days</h2><div id="renewals"></div></section>
          <section class="wide"><h2>Live changes</h2><ol id="feed"></ol></section>
        </main>
        <main id="account" hidden></main>
        </body>
        </html>

        """

    static let style = """
        :root { --green: #2e8540; --yellow: #d6a000; --red: #c0392b; --ink: #222; --muted: #666; --line: #ddd; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--ink); background: #f6f6f4; }
        header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #22303c; color: #fff; }
        header a.brand { color: #fff; font-weight: 700; text-decoration: none; font-size: 1.1rem; }
        .live { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #555; }
        .live.on { background: var(--green); }
        main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; padding: 1rem; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; overflow-x: auto; }
        section.wide { grid-column: 1 / -1; }
        h2 { font-size: 1rem; margin: .2rem 0 .6rem; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; color: var(--muted); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .band { display: inline-block; min-width: 4.5em; text-align: center; border-radius: 3px; color: #fff; padding: 0 .3rem; }
        .band.green { background: var(--green); } .band.yellow { background: var(--yellow); } .band.red { background: var(--red); }
        .muted { color: var(--muted); } .error { color: var(--red); }
        .reasons { color: var(--muted); font-size: .9em; }
        button.more { margin-top: .5rem; }
        form#login { max-width: 28rem; margin: 3rem auto; background: #fff; padding: 1.5rem; border: 1px solid var(--line); }
        form#login input { width: 100%; margin: .5rem 0; padding: .4rem; }
        ol#feed { margin: 0; padding-left: 1.2rem; max-height: 12rem; overflow-y: auto; font-size: .9em; }
        svg text { font-size: 11px; fill: var(--ink); }
        .kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        """
}
