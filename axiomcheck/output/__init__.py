"""Output: `text` for people (terminal), `files` for machines and CI (JSON, JUnit XML, Markdown), `html` the page.

Nothing that computes a verdict imports this package; the command line and the
pytest plugin do, and `axiomcheck.print_report` imports `text` when it is called.
"""
