"""docs/extending.md cannot drift from the examples: every code block marked
`<!-- snippet: path -->` must appear, line for line, in that file, and every public header the
guide names must exist."""

import os
import re
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "extending.md")


class ExtendingDocTest(unittest.TestCase):
    def test_snippets_are_copied_from_the_examples(self):
        text = open(DOC).read()
        blocks = re.findall(r"<!-- snippet: (\S+) -->\n```\w*\n(.*?)\n```", text, re.S)
        self.assertGreaterEqual(len(blocks), 10, "the guide shows the examples' code")
        for path, code in blocks:
            source = open(os.path.join(ROOT, path)).read()
            self.assertIn(code, source, f"a snippet of {path} in docs/extending.md is not in {path}")

    def test_named_headers_exist(self):
        text = open(DOC).read()
        headers = set(re.findall(r"`(runtime/[a-z_/]+\.hpp)`", text))
        self.assertIn("runtime/node/state_machine.hpp", headers)
        for header in headers:
            self.assertTrue(os.path.exists(os.path.join(ROOT, header)), header)


if __name__ == "__main__":
    unittest.main(verbosity=2)
