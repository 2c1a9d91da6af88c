"""Issue 14, item 5: the web dashboard (GET /ui, built into the binary) in a real headless
browser (Debian's chromium + chromium-driver, python3-selenium): the page loads with no console
error, shows the 3 nodes, then a 4th node and its partitions arriving after it joins, then a
stopped node turning suspect and dead; the cluster events list fills from GET /events.

CLUSTERKIT_SCREENSHOT=path saves a screenshot of the page with 4 nodes (docs/dashboard.png is
one). Skipped, with the reason, where chromium, chromedriver or selenium are missing
(scripts/setup.sh installs them; run with /usr/bin/python3, which has Debian's selenium)."""

import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import start_replicated_cluster, wait_until  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ENV = {"PARTITIONS": "8", "FAILURE_SUSPECT_AFTER_MS": "1500", "FAILURE_DEAD_AFTER_MS": "5000"}

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    MISSING = None
except ImportError as e:  # pragma: no cover - depends on the machine
    MISSING = f"python selenium not importable ({e}); scripts/setup.sh installs python3-selenium"
if MISSING is None and not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    MISSING = "chromium/chromedriver not installed; scripts/setup.sh installs them"

# Reads the page in one script call (the page re-renders every 2 s: elements go stale).
NODES_JS = """return [...document.querySelectorAll('#nodes tbody tr')].map(
  r => [r.dataset.node, r.querySelector('.status').textContent]);"""
GRID_JS = """const id = arguments[0];
return [...document.querySelectorAll('#grid tbody td[data-node="' + id + '"]')]
  .filter(td => td.textContent !== '').length;"""
EVENTS_JS = "return [...document.querySelectorAll('#events li')].map(li => li.dataset.kind);"


@unittest.skipIf(MISSING is not None, MISSING or "")
class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_replicated_cluster(3, env=ENV, cleanup_with=cls.addClassCleanup)
        options = Options()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1400", f"--user-data-dir={tempfile.mkdtemp()}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        cls.addClassCleanup(cls.browser.quit)

    def nodes(self):
        return dict(self.browser.execute_script(NODES_JS))

    def console_errors(self):
        return [e for e in self.browser.get_log("browser") if e["level"] == "SEVERE"]

    def test_the_dashboard_follows_the_cluster(self):
        first = self.cluster.nodes[0]
        self.browser.get(f"http://127.0.0.1:{first.http_port}/ui")
        self.assertEqual(self.browser.title, "ClusterKit")
        wait_until(lambda: len(self.nodes()) == 3, 15, "3 nodes on the dashboard",
                   describe=lambda: str(self.nodes()))
        self.assertEqual(set(self.nodes().values()), {"alive"})
        wait_until(lambda: "node_joined" in self.browser.execute_script(EVENTS_JS), 10,
                   "node_joined in the events list (GET /events)")
        self.assertEqual(self.console_errors(), [], "console errors after the page loaded")

        fourth = self.cluster.add("node-4", join=[first])
        wait_until(lambda: self.nodes().get("node-4") == "alive", 30,
                   "node-4 alive on the dashboard", describe=lambda: str(self.nodes()))
        wait_until(lambda: self.browser.execute_script(GRID_JS, "node-4") > 0, 60,
                   "partitions of node-4 in the grid")
        print(f"\nnode-4 hosts {self.browser.execute_script(GRID_JS, 'node-4')} partitions "
              f"on the dashboard", flush=True)
        if os.environ.get("CLUSTERKIT_SCREENSHOT"):
            self.browser.save_screenshot(os.environ["CLUSTERKIT_SCREENSHOT"])

        stopped = self.cluster.nodes[2]
        stopped.signal(signal.SIGKILL)
        wait_until(lambda: self.nodes().get(stopped.node_id) in ("suspect", "dead"), 20,
                   f"{stopped.node_id} suspect on the dashboard",
                   describe=lambda: str(self.nodes()))
        wait_until(lambda: self.nodes().get(stopped.node_id) == "dead", 20,
                   f"{stopped.node_id} dead on the dashboard", describe=lambda: str(self.nodes()))
        kinds = self.browser.execute_script(EVENTS_JS)
        self.assertIn("node_suspect", kinds)
        self.assertIn("node_dead", kinds)
        self.assertEqual(self.console_errors(), [], "console errors while the cluster changed")
        self.assertTrue(fourth.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
