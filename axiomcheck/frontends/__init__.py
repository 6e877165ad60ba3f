"""The front ends: the `axiomcheck` command, suite files (`suites`), the options the
command and the pytest plugin share, and the plugin's session state. The pytest entry
point itself is `axiomcheck.pytest_plugin`, which imports from here only when used.
"""
