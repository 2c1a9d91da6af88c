"""docs/extending.md and docs/client.md cannot drift from the examples: every code block marked
`<!-- snippet: path -->` must appear, line for line, in that file, and every public header the
guides name must exist."""

import os
import re
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "extending.md")
CLIENT_DOC = os.path.join(ROOT, "docs", "client.md")


def check_snippets(test, doc, at_least):
    text = open(doc).read()
    blocks = re.findall(r"<!-- snippet: (\S+) -->\n```\w*\n(.*?)\n```", text, re.S)
    test.assertGreaterEqual(len(blocks), at_least, f"{doc} shows the examples' code")
    for path, code in blocks:
        source = open(os.path.join(ROOT, path)).read()
        test.assertIn(code, source, f"a snippet of {path} in {doc} is not in {path}")


class ExtendingDocTest(unittest.TestCase):
    def test_snippets_are_copied_from_the_examples(self):
        check_snippets(self, DOC, 10)

    def test_client_guide_snippets_are_copied_from_the_client_example(self):
        check_snippets(self, CLIENT_DOC, 3)
        text = open(CLIENT_DOC).read()
        for header in set(re.findall(r"`(http/client/[a-z_]+\.hpp)`", text)):
            self.assertTrue(os.path.exists(os.path.join(ROOT, header)), header)

    def test_named_headers_exist(self):
        text = open(DOC).read()
        headers = set(re.findall(r"`(runtime/[a-z_/]+\.hpp)`", text))
        self.assertIn("runtime/node/state_machine.hpp", headers)
        for header in headers:
            self.assertTrue(os.path.exists(os.path.join(ROOT, header)), header)


if __name__ == "__main__":
    unittest.main(verbosity=2)
