"""The front ends: the `axiomcheck` command, the options the command and the pytest
plugin share, and the plugin's session state.

Two front ends live beside this package because users import them by name:
`axiomcheck.suites` (suite files: `suites.run(suites.load_all([...]))`) and the
pytest entry point `axiomcheck.pytest_plugin`, which imports from here only when used.
"""
