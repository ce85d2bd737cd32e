#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium (Debian's chromium + chromium-driver) with selenium.

Checks: sign-in (the form, and ?token= once, removed from the address bar), the journey map and at-risk list,
a live update when an account's band changes (the caller changes it after this script writes --ready), and that an
account name holding <script> renders as text. Saves screenshots. Exit status 0 when every check passed; the
reasons of failures go to stderr.
"""
import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)


def wait_for(driver, predicate, timeout, message):
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: predicate(d))
        return True
    except Exception:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--target", required=True, help="account whose band the caller changes")
    parser.add_argument("--script-account", required=True, help="account whose name holds a <script> tag")
    parser.add_argument("--script-name", required=True)
    parser.add_argument("--at-risk", type=int, required=True, help="at-risk accounts the API reports")
    parser.add_argument("--segments", required=True, help="comma-separated segments the funnel must show")
    parser.add_argument("--ready", required=True, help="file to create once the page is live")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    options = Options()
    options.binary_location = args.chromium
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1800", "--no-first-run", "--disable-extensions"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
    driver.set_page_load_timeout(30)
    try:
        # Without a token: the sign-in form; a wrong token is refused.
        driver.get(args.url + "/")
        wait_for(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), 10, "sign-in form not shown")
        driver.find_element(By.ID, "token").send_keys("wrong-token")
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        wait_for(driver, lambda d: "refused" in d.find_element(By.ID, "login-error").text, 10, "wrong token not refused")

        # ?token= signs in once and leaves the address bar.
        driver.get(args.url + "/?token=" + args.token)
        wait_for(driver, lambda d: d.execute_script("return document.body.dataset.loaded"), 20, "overview never loaded")
        check("token=" not in driver.current_url, "token left in the address bar: " + driver.current_url)
        wait_for(driver, lambda d: d.find_element(By.ID, "live").text == "live", 15, "stream not connected")

        segments = [s for s in args.segments.split(",") if s]
        # One read of the page in the browser: the live stream may redraw these tables between two separate reads.
        snapshot = driver.execute_script("""
            const text = (node) => (node && node.textContent) || "";
            return {
                segments: [...document.querySelectorAll('#funnel tr[data-segment]')].map((r) => r.dataset.segment),
                counts: [...document.querySelectorAll('#funnel td[data-stage] strong')].map((c) => parseInt(text(c) || '0', 10)),
                reasons: [...document.querySelectorAll('#at-risk tr[data-account]')].map((r) => text(r.querySelector('.reasons')).trim()),
            };
        """)
        shown = sorted(snapshot["segments"])
        check(shown == sorted(segments), "funnel segments %s, expected %s" % (shown, sorted(segments)))
        check(sum(snapshot["counts"]) > 0, "funnel shows no accounts")
        risky = snapshot["reasons"]
        check(len(risky) == min(args.at_risk, 20), "at-risk rows %d, API has %d" % (len(risky), args.at_risk))
        if risky:
            check(risky[0] != "", "at-risk row without reasons")
        driver.save_screenshot(os.path.join(args.screenshots, "dashboard-overview.png"))

        # Live: the caller changes the target's band now; the page must show it without a reload.
        # The target may already be listed (an earlier change of its band): then its row must change.
        row = '#band-changes tr[data-account="%s"]' % args.target

        def rows(d):
            try:
                return [r.text for r in d.find_elements(By.CSS_SELECTOR, row)]
            except Exception:  # the list was re-rendered while it was read
                return None

        before = rows(driver)
        marker = driver.execute_script("window.__cairnNoReload = 1; return 1")
        open(args.ready, "w").close()
        wait_for(driver, lambda d: rows(d) not in (None, [], before), 60,
                 "band change of %s never appeared" % args.target)
        check(driver.execute_script("return window.__cairnNoReload") == marker, "the page reloaded instead of updating live")
        wait_for(driver, lambda d: args.target + ": health" in d.find_element(By.ID, "feed").text, 20,
                 "live feed lacks the health change of %s" % args.target)
        driver.save_screenshot(os.path.join(args.screenshots, "dashboard-live-band-change.png"))

        # An account name with <script> is text, and never ran.
        driver.get(args.url + "/#/account/" + args.script_account)
        wait_for(driver, lambda d: d.find_element(By.ID, "account-name").text != "", 20, "account page never loaded")
        check(driver.find_element(By.ID, "account-name").text == args.script_name,
              "name shown as %r" % driver.find_element(By.ID, "account-name").text)
        check(driver.execute_script("return window.__cairnInjected === undefined"), "the injected script ran")
        check(not driver.find_elements(By.CSS_SELECTOR, "#account-name script"), "a script element was created")
        check(driver.find_elements(By.CSS_SELECTOR, "#health-chart path"), "no health chart")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#timeline tr")) > 0, "empty timeline")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#stage-history tr")) > 0, "empty stage history")
        driver.save_screenshot(os.path.join(args.screenshots, "dashboard-account.png"))
        for entry in driver.get_log("browser") if hasattr(driver, "get_log") else []:
            message = entry.get("message", "")
            if entry.get("level") == "SEVERE" and "favicon" not in message and " 401" not in message:
                failures.append("browser console: " + entry.get("message", ""))
                print("FAIL: browser console: " + entry.get("message", ""), file=sys.stderr)
    finally:
        driver.quit()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
